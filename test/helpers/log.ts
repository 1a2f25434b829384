/** A logger for tests that records every line and resolves waits for a line matching a pattern. */
import type { Logger } from '../../dist/lib/index.js';
import { WAIT_MS, within } from './deadline.js';

export interface RecordingLogger extends Logger {
  lines: string[];
  /**
   * Resolves with the first line (already logged or to come) matching `re`; fails past the
   * deadline, naming `what` (by default, the pattern).
   */
  waitFor(re: RegExp, what?: string, ms?: number): Promise<string>;
}

interface Waiter {
  re: RegExp;
  resolve: (l: string) => void;
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const waiters: Waiter[] = [];
  const forget = (w: Waiter): void => {
    const i = waiters.indexOf(w);
    if (i >= 0) waiters.splice(i, 1);
  };
  const push = (obj: object | string, msg?: string) => {
    const line = typeof obj === 'string' ? obj : msg ?? '';
    lines.push(line);
    for (const w of [...waiters]) {
      if (!w.re.test(line)) continue;
      forget(w);
      w.resolve(line);
    }
  };
  return {
    lines,
    debug: push,
    info: push,
    warn: push,
    error: push,
    waitFor: (re, what = `a log line matching ${re}`, ms = WAIT_MS) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      let w: Waiter | undefined;
      const logged = new Promise<string>((resolve) => waiters.push((w = { re, resolve })));
      return within(logged, what, ms).finally(() => forget(w!));
    },
  };
}
