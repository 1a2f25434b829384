/** A logger for tests that records every line and resolves waits for a line matching a pattern. */
import type { Logger } from '../../dist/lib/index.js';

export interface RecordingLogger extends Logger {
  lines: string[];
  /** Resolves with the first line (already logged or to come) matching `re`. */
  waitFor(re: RegExp): Promise<string>;
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const push = (obj: object | string, msg?: string) => {
    const line = typeof obj === 'string' ? obj : msg ?? '';
    lines.push(line);
    for (const w of [...waiters]) {
      if (!w.re.test(line)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  };
  return {
    lines,
    debug: push,
    info: push,
    warn: push,
    error: push,
    waitFor: (re) => {
      const seen = lines.find((l) => re.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}
