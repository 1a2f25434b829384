/**
 * Test helpers: Debian's headless Chromium (/usr/bin/chromium, or CHROMIUM_PATH) driven by
 * playwright-core, which downloads no browser of its own. Without the executable a test
 * skips with a message saying what to install, and fails under CI=true (.ci/run installs
 * it), so CI never hides the browser tests. The browser is closed with the test.
 */
import { existsSync } from 'node:fs';
import type { Test } from 'tap';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Launch headless Chromium, or null (the test was skipped) when it is not installed. */
export async function requireChromium(t: Test): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    const why = `no Chromium at ${CHROMIUM}`;
    if (process.env['CI'] === 'true') throw new Error(`${why}; CI needs it (apt-get install -y --no-install-recommends chromium)`);
    t.plan(0, `${why}; apt-get install -y --no-install-recommends chromium to run this test`);
    return null;
  }
  return launchChromium(t);
}

export async function launchChromium(t?: Test): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  t?.teardown(() => browser.close());
  return browser;
}
