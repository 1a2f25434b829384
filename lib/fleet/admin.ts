/**
 * Declaring and removing fleet workers over any connection — the host's (fleet.declare),
 * the CLI's (`bgworker fleet declare`) — through the SQL functions of sql-declare.ts, so
 * that every path to the desired state goes through the same checks and the same
 * privileges. The server's refusals come back as the library's typed errors, with the
 * server's error (and its SQLSTATE) as the cause:
 *
 *   BW002 → FleetInvalidDeclarationError   BW003 → FleetUnknownLabelError
 *   BW005 → FleetInvalidLabelsError
 */
import { FleetInvalidDeclarationError, FleetInvalidLabelsError, FleetUnknownLabelError } from '../errors.js';
import { quoteIdent } from '../pg/migrate.js';
import type { CheckedDeclaration } from './declaration.js';

/** Run one statement and return its rows: a fleet connection or a plain pg client. */
export type SqlRunner = <R extends Record<string, unknown>>(text: string, values: unknown[]) => Promise<R[]>;

const SQLSTATE_ERRORS: Record<string, new (m: string, o?: { cause?: unknown }) => Error> = {
  BW002: FleetInvalidDeclarationError,
  BW003: FleetUnknownLabelError,
  BW005: FleetInvalidLabelsError,
};

function typed(err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  const cls = typeof code === 'string' ? SQLSTATE_ERRORS[code] : undefined;
  return cls ? new cls((err as Error).message, { cause: err }) : err;
}

/** Declare (or re-declare) a worker; resolves with its registration's version. */
export async function declareFleetWorker(run: SqlRunner, schema: string, d: CheckedDeclaration): Promise<number> {
  try {
    const rows = await run<{ version: string }>(`SELECT ${quoteIdent(schema)}.fleet_declare($1, $2, $3, $4) AS version`, [
      d.name, JSON.stringify(d.registration), d.replicas, JSON.stringify(d.placement),
    ]);
    return Number(rows[0]!.version);
  } catch (err) {
    throw typed(err);
  }
}

/** Remove a worker everywhere; false if there was none of that name. */
export async function removeFleetWorker(run: SqlRunner, schema: string, name: string): Promise<boolean> {
  const rows = await run<{ removed: boolean }>(`SELECT ${quoteIdent(schema)}.fleet_remove($1) AS removed`, [name]);
  return rows[0]!.removed;
}
