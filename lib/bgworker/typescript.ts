/**
 * TypeScript worker modules: which modules need a loader, and whether this Node can give one.
 *
 * A module whose file ends in .ts, .mts or .cts is TypeScript. A thread can run it when
 *   - Node strips types itself (`process.features.typescript`, Node 22.6+ with the flag and
 *     23.6+ by default; worker threads inherit the flag with the host's execArgv), or
 *   - tsx can be resolved from this package (an optional peer dependency): the thread that runs
 *     the module registers tsx's ESM hooks for itself (lib/worker/ts-loader.ts).
 * The check runs at registration, beside the module's other checks and before anything is
 * written to shared memory, so a missing loader is a typed error at the caller instead of an
 * ERR_UNKNOWN_FILE_EXTENSION in some thread later. Plain JavaScript modules never reach tsx.
 */
import { TsLoaderMissingError } from '../errors.js';

const TYPESCRIPT = /\.[mc]?ts$/;

/** Whether the module (a file: URL) is TypeScript, by its file name as Node decides the format. */
export function isTypeScriptModule(url: string): boolean {
  return TYPESCRIPT.test(new URL(url).pathname);
}

/** Whether the running Node strips types by itself, so no loader is needed. */
export function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: string | false }).typescript);
}

let tsxFound: boolean | undefined;

function tsxResolvable(): boolean {
  if (tsxFound === undefined) {
    try {
      import.meta.resolve('tsx/esm/api');
      tsxFound = true;
    } catch {
      tsxFound = false;
    }
  }
  return tsxFound;
}

/** Throws TsLoaderMissingError when a TypeScript module could not be loaded by any thread of this host. */
export function checkTypeScriptLoader(url: string, prefix: string): void {
  if (!isTypeScriptModule(url) || nodeStripsTypes() || tsxResolvable()) return;
  throw new TsLoaderMissingError(
    `${prefix}module ${url} is TypeScript and this Node (${process.version}) does not strip types; ` +
      'install tsx (npm install --save-dev tsx) or compile the worker to JavaScript',
  );
}
