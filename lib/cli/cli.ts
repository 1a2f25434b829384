/**
 * The `bgworker` command: parse the command line, load the config file, pick the view
 * (a live table on a terminal, JSON lines otherwise, or as --output says) and run the
 * host. Resolves with the process exit status: the host's (0 clean, 1 died), or 2 when the
 * command line, the config file or a registration in it is rejected. main.ts is the bin.
 * `bgworker fleet …` is the fleet's own command (fleet-command.ts).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_WORKER_PROCESSES } from '../constants.js';
import { BgwError } from '../errors.js';
import { printable } from '../printable.js';
import { parseCliArgs, USAGE, type CliArgs } from './args.js';
import { runFleetCommand } from './fleet-command.js';
import { loadConfig, type HostConfig } from './config.js';
import type { HostView } from './host-view.js';
import { jsonView } from './json-view.js';
import { runHost, type SignalSource } from './run-host.js';
import { tableView } from './table-view.js';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  signals: SignalSource;
}

const EXIT_USAGE = 2;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'fleet') return runFleetCommand(argv.slice(1), io);
  try {
    const args = parseCliArgs(argv, io.stdout.isTTY === true);
    if ('help' in args || 'version' in args) {
      io.stdout.write(`${'help' in args ? USAGE : packageVersion()}\n`);
      return 0;
    }
    const config = loadConfig(args.config);
    return await runHost({ config, view: makeView(args, config, io.stdout), signals: io.signals, stopAfterMs: args.stopAfterMs, http: args.http && { ...args.http, title: `bgworker ${args.config}` } });
  } catch (err) {
    if (!(err instanceof BgwError)) throw err;
    // One line, whatever the message holds: a config's field names and paths are quoted in it.
    io.stderr.write(`bgworker: ${printable(err.message)} (${err.code}); bgworker --help for usage\n`);
    return EXIT_USAGE;
  }
}

function makeView(args: CliArgs, config: HostConfig, out: NodeJS.WritableStream): HostView {
  if (args.output === 'json') return jsonView(out);
  const slots = config.options.maxWorkerProcesses ?? DEFAULT_MAX_WORKER_PROCESSES;
  return tableView(out, { title: args.config, intervalMs: args.intervalMs, slots });
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
