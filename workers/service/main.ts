/**
 * The example service as a process: `node dist/workers/service/main.js [port]` (default
 * 8080, on 127.0.0.1; PORT and HOST in the environment do the same). It prints one JSON
 * line when it listens ({"listening": url}) and one when it has stopped.
 *
 * SIGTERM or SIGINT: stop accepting, smart shutdown of the host, then leave by letting the
 * event loop drain — no process.exit(), so a thread or a handle left behind would keep the
 * process up and show. Exit status 0 after a clean stop, 1 if stopping failed. With
 * DASHBOARD_ACTIONS=loopback the dashboard's actions are allowed from 127.0.0.1 (an
 * example of the application's own authorize hook); otherwise it is read-only.
 */
import { silentLogger } from '../../lib/index.js';
import { startService } from './service.js';

const port = Number(process.argv[2] ?? process.env['PORT'] ?? 8080);
const loopbackActions = process.env['DASHBOARD_ACTIONS'] === 'loopback';
const service = await startService({
  port,
  host: process.env['HOST'] ?? '127.0.0.1',
  logger: silentLogger,
  ...(loopbackActions ? { authorize: (req) => req.socket.remoteAddress === '127.0.0.1' } : {}),
});
process.stdout.write(`${JSON.stringify({ listening: service.url })}\n`);

const stop = (signal: string): void => {
  process.off('SIGTERM', onTerm).off('SIGINT', onInt);
  service.stop().then(
    () => {
      const t = service.pm.threadCounts();
      process.stdout.write(`${JSON.stringify({ stopped: signal, state: service.pm.pmState, threads: t.workers + t.spares })}\n`);
      process.exitCode = 0;
    },
    (err: Error) => {
      process.stderr.write(`stopping failed: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
};
const onTerm = (): void => stop('SIGTERM');
const onInt = (): void => stop('SIGINT');
process.on('SIGTERM', onTerm).on('SIGINT', onInt);
