/**
 * `bgworker fleet …`: the fleet's desired state and its one view from a shell, without a
 * host. The database comes from the PG* variables or DATABASE_URL; declarations go through
 * the same SQL functions as fleet.declare() and SQL callers (so the same privileges apply),
 * after the same checks on this machine (lib/fleet/declaration.ts).
 *
 *   bgworker fleet status  [--schema s] [--output table|json]
 *   bgworker fleet declare <name> --registration <file.json|JSON> [--replicas n|per-host]
 *                          [--placement key=value[,value…]]… [--schema s]
 *   bgworker fleet remove  <name> [--schema s]
 *
 * A registration file's relative module path is resolved against the file's folder, an
 * inline one's against the working directory. Exit status: 0 done, 1 the database could
 * not be reached or refused for another reason, 2 a bad command line or a declaration the
 * checks refused (the error's code is printed).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BgwError, ConfigInvalidError } from '../errors.js';
import { declareFleetWorker, removeFleetWorker, type SqlRunner } from '../fleet/admin.js';
import { checkDeclaration, checkWorkerName, type FleetRegistration } from '../fleet/declaration.js';
import type { Placement } from '../fleet/labels.js';
import { formatFleetStatus, readFleetStatus } from '../fleet/status.js';
import { clientConfig, connectClient, type PgClient } from '../pg/connect.js';
import { checkSchemaName } from '../pg/migrate.js';

export const FLEET_USAGE = `usage: bgworker fleet <command> [options]

  status                 every member and every replica (the fleet_status views)
  declare <name>         declare or change a fleet worker
      --registration <file.json | JSON>   module, function, type, mainArg, flags, restartTime, resourceLimits
      --replicas <n | per-host>           default 1
      --placement <key=value[,value...]>  a label constraint; repeat for more
  remove <name>          stop a fleet worker everywhere

options:
  --schema <name>        the fleet's schema (default bgworker)
  --output table|json    for status (default table)

The database comes from the PG* variables or DATABASE_URL.
exit status: 0 done, 1 the database failed, 2 a bad command line or declaration`;

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const EXIT_DB = 1;
const EXIT_USAGE = 2;

type Parsed = ReturnType<typeof parse>;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        schema: { type: 'string' },
        output: { type: 'string' },
        registration: { type: 'string' },
        replicas: { type: 'string' },
        placement: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ConfigInvalidError((err as Error).message, { cause: err });
  }
}

function registration(v: string | undefined): FleetRegistration {
  if (v === undefined) throw new ConfigInvalidError('declare needs --registration <file.json | JSON>');
  const inline = v.trimStart().startsWith('{');
  let text = v;
  if (!inline) {
    try {
      text = readFileSync(v, 'utf8');
    } catch (err) {
      throw new ConfigInvalidError(`cannot read ${v}: ${(err as Error).message}`, { cause: err });
    }
  }
  let reg: FleetRegistration;
  try {
    reg = JSON.parse(text) as FleetRegistration;
  } catch (err) {
    throw new ConfigInvalidError(`the registration is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const base = inline ? process.cwd() : dirname(resolve(v));
  if (typeof reg?.module === 'string' && !reg.module.startsWith('file:') && !isAbsolute(reg.module)) reg.module = resolve(base, reg.module);
  return reg;
}

function placement(list: string[] | undefined): Placement {
  const out: Placement = {};
  for (const p of list ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ConfigInvalidError(`--placement takes key=value[,value...], not "${p}"`);
    const values = p.slice(eq + 1).split(',');
    out[p.slice(0, eq)] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

function replicas(v: string | undefined): number | 'per-host' {
  if (v === undefined) return 1;
  if (v === 'per-host') return v;
  const n = Number(v);
  return Number.isInteger(n) && v.trim() !== '' ? n : (v as unknown as number);
}

async function act(p: Parsed, run: SqlRunner, schema: string, io: Io): Promise<void> {
  const [command, name] = p.positionals;
  if (command === 'status') {
    const st = await readFleetStatus(run, schema);
    io.stdout.write(p.values.output === 'json' ? `${JSON.stringify(st)}\n` : `${formatFleetStatus(st)}\n`);
  } else if (command === 'declare') {
    const d = checkDeclaration(name, { registration: registration(p.values.registration), replicas: replicas(p.values.replicas), placement: placement(p.values.placement) });
    const version = await declareFleetWorker(run, schema, d);
    io.stdout.write(`declared "${d.name}" (version ${version})\n`);
  } else {
    const removed = await removeFleetWorker(run, schema, checkWorkerName(name));
    io.stdout.write(removed ? `removed "${name}"\n` : `no fleet worker "${name}"\n`);
  }
}

function checkCommand(p: Parsed): void {
  const [command, name, ...rest] = p.positionals;
  if (command !== 'status' && command !== 'declare' && command !== 'remove') throw new ConfigInvalidError(`unknown fleet command "${command ?? ''}"`);
  if (command === 'status' ? name !== undefined : name === undefined || rest.length > 0) {
    throw new ConfigInvalidError(command === 'status' ? 'status takes no argument' : `${command} takes one worker name`);
  }
  if (p.values.output !== undefined && p.values.output !== 'table' && p.values.output !== 'json') {
    throw new ConfigInvalidError(`--output must be table or json, not "${p.values.output}"`);
  }
}

/** Resolves with the exit status. */
export async function runFleetCommand(argv: string[], io: Io): Promise<number> {
  let client: PgClient | null = null;
  try {
    const p = parse(argv);
    if (p.values.help) {
      io.stdout.write(`${FLEET_USAGE}\n`);
      return 0;
    }
    checkCommand(p);
    const schema = checkSchemaName(p.values.schema ?? 'bgworker');
    client = await connectClient(clientConfig({}, {}, 'bgworker: fleet cli'));
    const c = client;
    await act(p, (text, values) => c.query(text, values).then((r) => r.rows), schema, io);
    return 0;
  } catch (err) {
    if (err instanceof BgwError) {
      io.stderr.write(`bgworker fleet: ${err.message} (${err.code})\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`bgworker fleet: ${(err as Error).message}\n`);
    return EXIT_DB;
  } finally {
    await client?.end().catch(() => undefined);
  }
}
