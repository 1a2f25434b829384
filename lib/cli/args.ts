/**
 * The CLI's command line: `bgworker [options] <config.json>`. Parsing only; main.ts acts on it.
 */
import { parseArgs } from 'node:util';
import { ConfigInvalidError } from '../errors.js';

export const USAGE = `usage: bgworker [options] <config.json>
       bgworker fleet <status|declare|remove> …   (bgworker fleet --help)

Runs a bgworker host from a config file until a signal stops it:
  SIGTERM  smart shutdown        SIGINT (Ctrl-C)  fast shutdown
  SIGQUIT  immediate shutdown    SIGHUP           reload (SIGHUP to every worker)

options:
  --output table|json   a live activity table, or JSON lines (default: table on a terminal, json otherwise)
  --interval <seconds>  how often the table is redrawn (default 1)
  --seconds <n>         fast shutdown after n seconds
  --http <port>         serve /metrics, /health, /activity (JSON) and the live dashboard (/) on this port (0: any free one)
  --http-host <addr>    the address --http listens on (default 127.0.0.1)
  -h, --help            this text
  -v, --version         the package version

exit status: 0 after a clean shutdown, 1 if the host died, 2 for a bad command line or config file`;

export interface CliArgs {
  config: string;
  output: 'table' | 'json';
  intervalMs: number;
  /** Fast shutdown after this long, if set. */
  stopAfterMs: number | null;
  /** Where --http serves, if set. */
  http: { port: number; host: string } | null;
}

export type ParsedArgs = CliArgs | { help: true } | { version: true };

/** @throws {BGW_ERR_CONFIG_INVALID} for a bad command line */
export function parseCliArgs(argv: string[], isTTY: boolean): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string' },
        interval: { type: 'string' },
        seconds: { type: 'string' },
        http: { type: 'string' },
        'http-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new ConfigInvalidError((err as Error).message, { cause: err });
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (values.version) return { version: true };
  if (positionals.length !== 1) throw new ConfigInvalidError('expected exactly one config file');
  const output = values.output ?? (isTTY ? 'table' : 'json');
  if (output !== 'table' && output !== 'json') throw new ConfigInvalidError(`--output must be table or json, not "${output}"`);
  const seconds = values.seconds === undefined ? null : positive(values.seconds, '--seconds');
  if (values['http-host'] !== undefined && values.http === undefined) throw new ConfigInvalidError('--http-host needs --http <port>');
  return {
    config: positionals[0]!,
    output,
    intervalMs: (values.interval === undefined ? 1 : positive(values.interval, '--interval')) * 1000,
    stopAfterMs: seconds === null ? null : seconds * 1000,
    http: values.http === undefined ? null : { port: port(values.http), host: values['http-host'] ?? '127.0.0.1' },
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new ConfigInvalidError(`--http takes a port number in 0..65535, not "${v}"`);
  return n;
}

function positive(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigInvalidError(`${name} takes a number of seconds above 0, not "${v}"`);
  return n;
}
