/**
 * Test helpers: the built `bgworker` CLI as a child process, with its output read line by
 * line so that a test waits for what the CLI prints instead of sleeping.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

export const cliMain = fileURLToPath(new URL('../../dist/lib/cli/main.js', import.meta.url));

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds text that satisfies `pred`. */
  waitFor(pred: (stdout: string) => boolean): Promise<void>;
  /** Resolves with the exit status. */
  exited: Promise<number | null>;
}

/** Start the CLI; killed at the end of the test if still running. */
export function runCli(t: Test, args: string[], cwd?: string): CliRun {
  const env = { ...process.env };
  delete env['NODE_OPTIONS']; // tap's loader; worker threads would inherit it
  const child = spawn(process.execPath, [cliMain, ...args], { env, cwd });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d: Buffer) => (err += String(d)));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waitFor = (pred: (s: string) => boolean): Promise<void> =>
    new Promise((res, rej) => {
      const check = (): void => {
        if (!pred(out)) return;
        waiters.splice(waiters.indexOf(check), 1);
        res();
      };
      waiters.push(check);
      void exited.then(() => pred(out) || rej(new Error(`the CLI exited first; stdout:\n${out}\nstderr:\n${err}`)));
      check();
    });
  return { child, stdout: () => out, stderr: () => err, waitFor, exited };
}

/** The complete JSON lines written so far. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A predicate: some JSON line has every field of `fields`. */
export function hasLine(fields: Record<string, unknown>): (stdout: string) => boolean {
  return (s) => jsonLines(s).some((l) => Object.entries(fields).every(([k, v]) => l[k] === v));
}

/** Write a config file into a test dir and return its path. */
export function writeConfig(dir: string, config: object, name = 'bgworker.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}
