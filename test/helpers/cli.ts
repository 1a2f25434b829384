/**
 * Test helpers: the built `bgworker` CLI, or any command, as a child process, with its output
 * collected so that a test waits for what the child prints instead of sleeping. Children
 * start without tap's loader in NODE_OPTIONS, which worker threads would inherit.
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
  /** Resolves with the exit status once the child has exited and its output is read. */
  exited: Promise<number | null>;
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
  const waitFor = (pred: (s: string) => boolean): Promise<void> =>
    new Promise((res, rej) => {
      const check = (): void => {
        if (!pred(out)) return;
        waiters.splice(waiters.indexOf(check), 1);
        res();
      };
      waiters.push(check);
      void exited.then(() => pred(out) || rej(new Error(`the child exited first; stdout:\n${out}\nstderr:\n${err}`)));
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
