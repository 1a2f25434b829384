/**
 * The thread's own TypeScript loader: before a TypeScript worker module is imported, the thread
 * registers tsx's ESM hooks for itself, once (hooks registered in the host's main thread do not
 * reach worker threads on Node 20, so each thread needs its own).
 *
 * Rules:
 *   - only for TypeScript modules (lib/bgworker/typescript.ts decides): a thread that runs only
 *     JavaScript never imports tsx and pays nothing;
 *   - never where Node strips types itself;
 *   - once per thread: spares that preload a TypeScript module register it before the launch,
 *     and a reused thread keeps it for its next lives.
 * The import must happen after registration: Node caches a module that failed to load, so a
 * first import without the hooks would poison that module's URL for the thread's life.
 */
import { isTypeScriptModule, nodeStripsTypes } from '../bgworker/typescript.js';

let registered: Promise<void> | null = null;

/** Registers the loader if `url` needs it; resolves at once for JavaScript. */
export function prepareModule(url: string): Promise<void> | void {
  if (!isTypeScriptModule(url) || nodeStripsTypes()) return;
  registered ??= import('tsx/esm/api').then((tsx) => {
    tsx.register();
  });
  return registered;
}
