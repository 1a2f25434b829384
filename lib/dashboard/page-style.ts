/**
 * The dashboard page's stylesheet, inlined into the page (page.ts): no CDN, no font or
 * image to fetch, so the page works offline; the page's Content-Security-Policy allows
 * this stylesheet by its hash and nothing else (page.ts).
 */
export const PAGE_STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#6b7280; --line:#e3e6eb;
  --ok:#15803d; --warn:#b45309; --bad:#b91c1c; --run:#2563eb; --idle:#9ca3af; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; gap:12px; align-items:center; padding:10px 18px; background:#111827; color:#f9fafb; }
header h1 { font-size:15px; margin:0 8px 0 0; font-weight:600; }
.badge { display:inline-block; padding:1px 8px; border-radius:9px; font-size:12px; background:#374151; color:#f9fafb; }
.badge.healthy, .badge.running { background:var(--ok); }
.badge.degraded, .badge.waiting_restart, .badge.stopping, .badge.not_yet_started { background:var(--warn); }
.badge.failed, .badge.dead, .badge.down { background:var(--bad); }
.badge.live { background:var(--run); }
.spacer { flex:1; }
main { padding:14px 18px; display:grid; gap:14px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(150px, 1fr)); gap:10px; }
.card, section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.card .k { color:var(--mute); font-size:11px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:20px; font-weight:600; font-variant-numeric:tabular-nums; }
.charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(260px, 1fr)); gap:10px; }
.chart svg { width:100%; height:60px; display:block; }
.chart polyline { fill:none; stroke-width:1.5; }
.chart .a { stroke:var(--run); } .chart .b { stroke:var(--warn); }
section h2 { font-size:13px; margin:0 0 8px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--mute); font-weight:500; font-size:12px; }
td.num, th.num { text-align:right; }
.mute { color:var(--mute); }
.reasons { margin:4px 0 0; padding-left:18px; color:var(--warn); }
button { font:inherit; font-size:12px; padding:1px 8px; border:1px solid var(--line); border-radius:4px; background:#fff; cursor:pointer; }
button:hover { border-color:var(--bad); color:var(--bad); }
#toast { position:fixed; right:14px; bottom:14px; max-width:420px; padding:8px 12px; border-radius:6px; background:#111827; color:#fff; display:none; }
#toast.show { display:block; }
`;
