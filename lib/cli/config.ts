/**
 * The CLI's config file: one JSON object holding the host's options and the workers to
 * register before start (shared_preload_libraries plus their RegisterBackgroundWorker calls).
 *
 *   {
 *     "maxWorkerProcesses": 8, "terminateGraceMs": 5000, "quitGraceMs": 5000,
 *     "shmem": { "stats": 64 }, "locks": ["stats"],
 *     "database": { "host": "127.0.0.1", "database": "app" },
 *     "workers": [
 *       { "name": "stats collector", "module": "./stats.js", "flags": ["BGWORKER_SHMEM_ACCESS"],
 *         "restartTime": 5, "mainArg": { "naptimeMs": 1000 } }
 *     ],
 *     "schedules": [
 *       { "name": "rollup", "module": "./rollup.js", "every": "5m", "maxRuntimeMs": 60000 },
 *       { "name": "nightly", "module": "./nightly.js", "cron": "0 3 * * *", "timeZone": "Europe/Berlin" }
 *     ]
 *   }
 *
 * This file checks only the shape: known field names (a misspelt option is an error, not a
 * silent default) and JSON types. Ranges and the rules of a registration are the host's
 * to check, when the CLI constructs it and registers the workers. Module and preload paths
 * are resolved against the config file's folder, `file:` URLs are kept. Flags may be a
 * number or a list of flag names; startTime a number or a BgWorkerStartTime name; extra a
 * base64 string, strictly (the standard alphabet, padded: anything else is an error, where
 * Buffer would quietly skip it). `database` is handed to the host as its database option;
 * `restartIntensity` (an object of numbers, or false) and a worker's `resourceLimits`
 * (megabytes) likewise. `schedules` are pm.schedule() specs (lib/schedule/spec.ts), declared
 * once the host has started: the registration fields as for workers (but restartTime), the
 * time rule and the policies; their values are the scheduler's to check.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigInvalidError } from '../errors.js';
import type { PostmasterOptions } from '../host/postmaster.js';
import type { ScheduleSpec } from '../schedule/spec.js';
import {
  BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_CLASS_PARALLEL, BGWORKER_INTERRUPTIBLE, BGWORKER_SHMEM_ACCESS, BgWorkerStartTime,
  type BackgroundWorker,
} from '../types.js';

export interface HostConfig {
  options: PostmasterOptions;
  workers: BackgroundWorker[];
  /** Declared after start, in order. */
  schedules: ScheduleSpec[];
}

type Json = Record<string, unknown>;

const FLAGS: Record<string, number> = {
  BGWORKER_SHMEM_ACCESS, BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_INTERRUPTIBLE, BGWORKER_CLASS_PARALLEL,
};
const INT_OPTIONS = ['maxWorkerProcesses', 'maxParallelWorkers', 'terminateGraceMs', 'quitGraceMs', 'spareThreads', 'mainArgBytes', 'hostLatches'] as const;
const HOST_FIELDS = new Set<string>([...INT_OPTIONS, 'restartAfterCrash', 'restartIntensity', 'shmem', 'locks', 'preload', 'execArgv', 'database', 'workers', 'schedules']);
const WORKER_FIELDS = new Set(['name', 'type', 'module', 'function', 'flags', 'startTime', 'restartTime', 'mainArg', 'extra', 'resourceLimits']);
/** Schedule fields taken as they are (their values are checked by pm.schedule()). */
const SCHEDULE_PLAIN = [
  'every', 'cron', 'timeZone', 'fixed', 'initialStart', 'maxRuntimeMs', 'maxRetries', 'retryPeriodMs', 'overlap', 'maxParallel',
  'misfire', 'misfireGraceMs', 'scheduled', 'historySize', 'fleet', 'readiness',
] as const;
const SCHEDULE_FIELDS = new Set<string>([...WORKER_FIELDS, ...SCHEDULE_PLAIN].filter((f) => f !== 'restartTime'));

/** Read and check a config file. @throws {BGW_ERR_CONFIG_INVALID} */
export function loadConfig(path: string): HostConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigInvalidError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, dirname(resolve(path)));
}

/** Check a config file's text; relative paths in it are resolved against `baseDir`. @throws {BGW_ERR_CONFIG_INVALID} */
export function parseConfig(text: string, baseDir: string): HostConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigInvalidError(`config file is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = object(json, 'the config');
  checkFields(o, HOST_FIELDS, 'the config');
  const workers = optional(o, 'workers', (v) => array(v, 'workers')) ?? [];
  const schedules = optional(o, 'schedules', (v) => array(v, 'schedules')) ?? [];
  return {
    options: hostOptions(o, baseDir),
    workers: workers.map((w, i) => worker(w, `workers[${i}]`, baseDir)),
    schedules: schedules.map((w, i) => schedule(w, `schedules[${i}]`, baseDir)),
  };
}

function hostOptions(o: Json, baseDir: string): PostmasterOptions {
  const options: PostmasterOptions = {};
  for (const k of INT_OPTIONS) {
    const v = optional(o, k, (x) => number(x, k));
    if (v !== undefined) options[k] = v;
  }
  assign(options, 'restartAfterCrash', optional(o, 'restartAfterCrash', (v) => boolean(v, 'restartAfterCrash')));
  assign(options, 'restartIntensity', optional(o, 'restartIntensity', (v) => (v === false ? false : numberRecord(v, 'restartIntensity'))));
  assign(options, 'shmem', optional(o, 'shmem', (v) => numberRecord(v, 'shmem')));
  assign(options, 'locks', optional(o, 'locks', (v) => strings(v, 'locks')));
  assign(options, 'preload', optional(o, 'preload', (v) => strings(v, 'preload').map((p) => modulePath(p, baseDir))));
  assign(options, 'execArgv', optional(o, 'execArgv', (v) => strings(v, 'execArgv')));
  assign(options, 'database', optional(o, 'database', (v) => object(v, 'database') as PostmasterOptions['database']));
  return options;
}

function worker(v: unknown, where: string, baseDir: string): BackgroundWorker {
  const o = object(v, where);
  checkFields(o, WORKER_FIELDS, where);
  const w: BackgroundWorker = {
    name: string(o['name'], `${where}.name`),
    module: modulePath(string(o['module'], `${where}.module`), baseDir),
  };
  assign(w, 'type', optional(o, 'type', (x) => string(x, `${where}.type`)));
  assign(w, 'function', optional(o, 'function', (x) => string(x, `${where}.function`)));
  assign(w, 'flags', optional(o, 'flags', (x) => flags(x, `${where}.flags`)));
  assign(w, 'startTime', optional(o, 'startTime', (x) => startTime(x, `${where}.startTime`)));
  assign(w, 'restartTime', optional(o, 'restartTime', (x) => number(x, `${where}.restartTime`)));
  assign(w, 'resourceLimits', optional(o, 'resourceLimits', (x) => numberRecord(x, `${where}.resourceLimits`)));
  assign(w, 'extra', optional(o, 'extra', (x) => base64(string(x, `${where}.extra`), `${where}.extra of worker "${w.name}"`)));
  if ('mainArg' in o) w.mainArg = o['mainArg'];
  return w;
}

function schedule(v: unknown, where: string, baseDir: string): ScheduleSpec {
  const o = object(v, where);
  checkFields(o, SCHEDULE_FIELDS, where);
  const plain = new Set<string>(SCHEDULE_PLAIN);
  const { restartTime: _never, ...registration } = worker(Object.fromEntries(Object.entries(o).filter(([k]) => !plain.has(k))), where, baseDir);
  const spec: ScheduleSpec = registration;
  for (const k of SCHEDULE_PLAIN) if (o[k] !== undefined) (spec as unknown as Record<string, unknown>)[k] = o[k];
  return spec;
}

function flags(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  return strings(v, where).reduce((bits, name) => {
    if (!(name in FLAGS)) fail(`${where}: unknown flag "${name}"; known flags are ${Object.keys(FLAGS).join(', ')}`);
    return bits | FLAGS[name]!;
  }, 0);
}

function startTime(v: unknown, where: string): BgWorkerStartTime {
  if (typeof v === 'number') return v as BgWorkerStartTime;
  const name = string(v, where);
  if (!(name in BgWorkerStartTime)) fail(`${where}: unknown start time "${name}"; use ${Object.keys(BgWorkerStartTime).join(', ')}`);
  return BgWorkerStartTime[name as keyof typeof BgWorkerStartTime];
}

/** Strict base64: Buffer.from(s, 'base64') would skip anything that is not, and decode the rest. */
function base64(s: string, where: string): Uint8Array {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.toString('base64') !== s) {
    fail(`${where} is not base64 (A–Z, a–z, 0–9, + and /, padded with =); encode the bytes with Buffer.from(bytes).toString('base64')`);
  }
  return new Uint8Array(bytes);
}

function modulePath(p: string, baseDir: string): string {
  return p.startsWith('file:') ? p : resolve(baseDir, p);
}

function checkFields(o: Json, known: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!known.has(k)) fail(`${where}: unknown field "${k}"`);
}

function assign<T, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function optional<T>(o: Json, key: string, check: (v: unknown) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key]);
}

function object(v: unknown, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where} must be an object`);
  return v as Json;
}

function array(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(`${where} must be an array`);
  return v;
}

function strings(v: unknown, where: string): string[] {
  return array(v, where).map((s, i) => string(s, `${where}[${i}]`));
}

function numberRecord(v: unknown, where: string): Record<string, number> {
  const o = object(v, where);
  for (const [k, n] of Object.entries(o)) number(n, `${where}.${k}`);
  return o as Record<string, number>;
}

function string(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(`${where} must be a string`);
  return v;
}

function number(v: unknown, where: string): number {
  if (typeof v !== 'number') fail(`${where} must be a number`);
  return v;
}

function boolean(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(`${where} must be true or false`);
  return v;
}

function fail(message: string): never {
  throw new ConfigInvalidError(message);
}
