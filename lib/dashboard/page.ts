/**
 * The dashboard's one page: HTML with its stylesheet and script inline (page-style.ts,
 * page-script.ts), so it needs nothing but this handler — no CDN, no asset route, no
 * build step for the application that mounts it.
 *
 * It is served with a Content-Security-Policy that allows exactly that inline style and
 * script, by their SHA-256 hashes, and connections to its own origin only (the event
 * stream and the actions): a value from the host that somehow reached the markup could not
 * run. The hashes are computed once, when this module loads.
 */
import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The Content-Security-Policy header of the page. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(PAGE_SCRIPT)}`,
  `style-src ${hash(PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The page's HTML, titled `title`. */
export function pageHtml(title: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title><link rel="icon" href="data:,"><style>${PAGE_STYLE}</style></head>
<body>
<header><h1>${t}</h1><span id="state" class="badge">…</span><span id="health" class="badge">…</span>
<span class="spacer"></span><span id="mode" class="mute"></span><span id="updated" class="mute"></span><span id="live" class="badge down">connecting</span></header>
<main>
<ul id="reasons" class="reasons"></ul>
<div class="cards">
<div class="card"><div class="k">slots used / usable</div><div class="v" id="k-slots"></div></div>
<div class="card"><div class="k">threads + spares</div><div class="v" id="k-threads"></div></div>
<div class="card"><div class="k">workers running</div><div class="v" id="k-running"></div></div>
<div class="card"><div class="k">restarts</div><div class="v" id="k-restarts"></div></div>
<div class="card"><div class="k">latch waits</div><div class="v" id="k-latch"></div></div>
<div class="card"><div class="k">shm_mq sent / received</div><div class="v" id="k-mq"></div></div>
</div>
<div class="charts">
<div class="card chart"><div class="k">workers running <span id="c-run-v"></span></div><svg id="c-run" viewBox="0 0 300 60" preserveAspectRatio="none"></svg></div>
<div class="card chart"><div class="k">shm_mq sent / received <span id="c-mq-v"></span></div><svg id="c-mq" viewBox="0 0 300 60" preserveAspectRatio="none"></svg></div>
<div class="card chart"><div class="k">latch / lock waits <span id="c-wait-v"></span></div><svg id="c-wait" viewBox="0 0 300 60" preserveAspectRatio="none"></svg></div>
</div>
<section><h2>Workers</h2><table><thead><tr><th class="num">slot</th><th>name</th><th>type</th><th>state</th><th class="num">pid</th><th>started</th><th>readiness</th><th class="num">restarts</th><th>last exit</th><th>activity</th><th></th></tr></thead><tbody id="workers"></tbody></table></section>
<section><h2>LWLock waits</h2><table><thead><tr><th>lock</th><th class="num">waits</th><th class="num">total ms</th><th class="num">ms / wait</th></tr></thead><tbody id="locks"></tbody></table></section>
<section><h2>shm_mq queues</h2><table><thead><tr><th>queue</th><th>sender</th><th>receiver</th><th class="num">ring</th><th class="num">sent</th><th class="num">received</th><th class="num">in ring</th></tr></thead><tbody id="queues"></tbody></table></section>
<section id="fleet" hidden><h2>Fleet</h2><div id="fleet-body"></div></section>
</main>
<div id="toast"></div>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
