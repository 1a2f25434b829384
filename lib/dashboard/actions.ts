/**
 * The dashboard's two actions, each a POST with a JSON body:
 *
 *   POST actions/terminate  {"slot": n}       TerminateBackgroundWorker on the worker in slot n
 *   POST actions/reset      {"name": "…"}     pm.resetFailed(name); without a name, every failed worker
 *
 * Read-only by default: with no authorize hook every action is refused with 403, and with
 * one, each request is refused unless the hook says yes for that request and that action —
 * the application decides who may act (its session, a token, a network), the dashboard
 * never does. The hook runs before anything is done; one that throws refuses too.
 *
 * The body must be application/json: a browser sends that cross-origin only after a CORS
 * preflight, which the dashboard does not answer, so another site's page cannot post a
 * form here with the user's cookies. Bodies are at most 4 KiB.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Postmaster } from '../host/postmaster.js';

export type DashboardAction = { kind: 'terminate'; slot: number } | { kind: 'reset'; name?: string };

/** Decides whether `req` may do `action`: true allows it, anything else refuses (403). */
export type Authorize = (req: IncomingMessage, action: DashboardAction) => boolean | Promise<boolean>;

const MAX_BODY_BYTES = 4096;

const reply = (res: ServerResponse, status: number, body: object): void =>
  void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));

/** Handle POST actions/<kind>: parse, authorize, act. */
export async function runAction(pm: Postmaster, authorize: Authorize | undefined, kind: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
  if (!authorize) return reply(res, 403, { error: 'the dashboard is read-only: actions need an authorize(req, action) hook' });
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return reply(res, 415, { error: 'actions take a JSON body (content-type: application/json)' });
  let action: DashboardAction;
  try {
    action = parseAction(kind, await readBody(req));
  } catch (err) {
    return reply(res, 400, { error: (err as Error).message });
  }
  let allowed = false;
  try {
    allowed = (await authorize(req, action)) === true;
  } catch {
    allowed = false;
  }
  if (!allowed) return reply(res, 403, { error: `not authorized to ${action.kind}` });
  try {
    reply(res, 200, await act(pm, action));
  } catch (err) {
    reply(res, 409, { error: (err as Error).message });
  }
}

function parseAction(kind: string, body: string): DashboardAction {
  const v = JSON.parse(body || '{}') as Record<string, unknown>;
  if (kind === 'terminate') {
    if (!Number.isInteger(v['slot']) || (v['slot'] as number) < 0) throw new Error('terminate takes {"slot": <slot number>}');
    return { kind, slot: v['slot'] as number };
  }
  if (kind === 'reset') {
    if (v['name'] !== undefined && typeof v['name'] !== 'string') throw new Error('reset takes {"name": "<worker name>"} or {}');
    return v['name'] === undefined ? { kind } : { kind, name: v['name'] as string };
  }
  throw new Error(`no such action "${kind}": terminate or reset`);
}

async function act(pm: Postmaster, a: DashboardAction): Promise<object> {
  if (a.kind === 'reset') return { reset: pm.resetFailed(a.name) };
  const h = pm.handleOf(a.slot);
  if (!h) throw new Error(`no worker in slot ${a.slot}`);
  await h.terminate();
  return { terminated: a.slot };
}

/** The body as text; one a framework has parsed already (Express's json()) is taken as it is. */
function readBody(req: IncomingMessage): Promise<string> {
  const parsed = (req as { body?: unknown }).body;
  if (parsed !== null && typeof parsed === 'object') return Promise.resolve(JSON.stringify(parsed));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`the body is over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
