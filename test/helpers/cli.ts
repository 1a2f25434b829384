/**
 * Test helpers: the built `bgworker` CLI, or any command, as a child process, with its output
 * collected so that a test waits for what the child prints instead of sleeping, each wait
 * with a deadline that fails it with a label (see deadline.ts). Children start without
 * tap's loader in NODE_OPTIONS, which worker threads would inherit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { DeadlineError, WAIT_MS, within } from './deadline.js';

export const cliMain = fileURLToPath(new URL('../../dist/lib/cli/main.js', import.meta.url));

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /**
   * Resolves once stdout holds text that satisfies `pred`; fails if the child exits first,
   * or past the deadline, naming `what`.
   */
  waitFor(pred: (stdout: string) => boolean, what: string, ms?: number): Promise<void>;
  /**
   * Resolves with the exit status once the child has exited and its output is read; fails
   * past the deadline, naming `what`.
   */
  exitStatus(what: string, ms?: number): Promise<number | null>;
}

/** Start the CLI; killed at the end of the test if still running. */
export function runCli(t: Test, args: string[], cwd?: string): CliRun {
  return runProcess(t, process.execPath, [cliMain, ...args], cwd === undefined ? {} : { cwd });
}

/** The environment a child starts with: tap's loader (NODE_OPTIONS) and npm's run-script variables left out. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('npm_')));
  return { ...env, ...extra };
}

/** Start a command; killed at the end of the test if still running. */
export function runProcess(t: Test, command: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const child = spawn(command, args, { env: o.env ?? childEnv(), ...(o.cwd === undefined ? {} : { cwd: o.cwd }) });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d: Buffer) => (err += String(d)));
  // 'close', not 'exit': stdout has been read to its end by then.
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const forget = (w: () => void): void => {
    const i = waiters.indexOf(w);
    if (i >= 0) waiters.splice(i, 1);
  };
  const waitFor = (pred: (s: string) => boolean, what: string, ms = WAIT_MS): Promise<void> => {
    let check = (): void => undefined;
    const printed = new Promise<void>((res, rej) => {
      check = (): void => {
        if (!pred(out)) return;
        forget(check);
        res();
      };
      waiters.push(check);
      void exited.then(() => pred(out) || rej(new Error(`the child exited before ${what}; stdout:\n${out}\nstderr:\n${err}`)));
      check();
    });
    return within(printed, what, ms)
      .catch((e: unknown) => {
        if (e instanceof DeadlineError) e.message += `; stdout so far:\n${out}\nstderr:\n${err}`;
        throw e;
      })
      .finally(() => forget(check));
  };
  const exitStatus = (what: string, ms = WAIT_MS): Promise<number | null> => within(exited, what, ms);
  return { child, stdout: () => out, stderr: () => err, waitFor, exitStatus };
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
