/**
 * The dashboard page's script, inlined into the page (page.ts). Plain browser JavaScript,
 * kept free of template literals so that it can live in this TypeScript string as written.
 *
 * It reads the mount point from its own URL (the page may be mounted anywhere: /, /bgw/,
 * an Express router), opens an EventSource on `events`, and redraws everything from each
 * `snapshot` event; EventSource reconnects by itself after a drop (the server's `retry`),
 * and the badge says whether the feed is live. Actions POST JSON to `actions/<kind>` and
 * show the server's answer: a read-only dashboard answers 403 and the page says so.
 * Every value from the host is inserted as text (esc), never as markup.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var path = location.pathname;
  var base = path.endsWith('/') ? path : path + '/';
  var $ = function (id) { return document.getElementById(id); };
  var esc = function (v) {
    return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  };
  var bytes = function (n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + u[i];
  };
  var ago = function (iso) {
    if (!iso) return '';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  };
  var badge = function (cls, text) { return '<span class="badge ' + esc(cls) + '">' + esc(text) + '</span>'; };
  var last = null;

  function toast(text) {
    var t = $('toast');
    t.textContent = text;
    t.className = 'show';
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = ''; }, 4000);
  }

  function act(kind, body) {
    return fetch(base + 'actions/' + kind, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
      .then(function (r) { toast(r.status === 200 ? kind + ': done' : kind + ' refused (' + r.status + '): ' + r.body.error); return r; });
  }
  window.bgwAct = act;

  function spark(id, series, a, b) {
    var svg = $(id);
    var w = 300, h = 60, n = series.length;
    var max = 1;
    series.forEach(function (s) { max = Math.max(max, s[a], b ? s[b] : 0); });
    var line = function (k) {
      return series.map(function (s, i) {
        var x = n < 2 ? w : (i / (n - 1)) * w;
        return x.toFixed(1) + ',' + (h - 2 - (s[k] / max) * (h - 4)).toFixed(1);
      }).join(' ');
    };
    svg.innerHTML = '<polyline class="a" points="' + line(a) + '"/>' + (b ? '<polyline class="b" points="' + line(b) + '"/>' : '');
    var cur = n ? series[n - 1] : null;
    $(id + '-v').textContent = cur ? (b ? fmtRate(id, cur[a]) + ' / ' + fmtRate(id, cur[b]) : String(cur[a])) : '';
  }
  function fmtRate(id, v) { return id === 'c-mq' ? bytes(v) + '/s' : v.toFixed(1) + '/s'; }

  function workerRow(w, s) {
    var exit = w.lastExit ? esc(w.lastExit.kind) + ' (' + esc(w.lastExit.code) + ')' + (w.lastExit.error ? ': ' + esc(w.lastExit.error.message) : '') + ' <span class="mute">' + esc(ago(w.lastExit.at)) + '</span>' : '';
    var buttons = '';
    if (s.actions) {
      if (w.pid !== null || w.state === 'waiting_restart' || w.state === 'not_yet_started') buttons += '<button data-act="terminate" data-slot="' + w.slot + '">terminate</button> ';
      if (w.state === 'failed') buttons += '<button data-act="reset" data-name="' + esc(w.name) + '">reset</button>';
    }
    return '<tr data-worker="' + esc(w.name) + '" data-state="' + esc(w.state) + '">' +
      '<td class="num">' + w.slot + '</td><td>' + esc(w.name) + (w.dynamic ? ' <span class="mute">dynamic</span>' : '') + '</td><td>' + esc(w.type) + '</td>' +
      '<td>' + badge(w.state, w.state) + '</td><td class="num">' + esc(w.pid) + '</td>' +
      '<td>' + esc(ago(w.startedAt)) + '</td><td>' + (w.readyAt ? 'ready' : (w.pid !== null ? '<span class="mute">not yet</span>' : '')) + '</td>' +
      '<td class="num">' + w.restarts + '</td><td>' + exit + '</td><td>' + esc(w.activity) + '</td><td>' + buttons + '</td></tr>';
  }

  function procName(s, p) {
    if (p === null) return '<span class="mute">none</span>';
    var w = s.workers.filter(function (x) { return x.slot === p; })[0];
    return w ? esc(w.name) : p >= s.host.slots.reserved ? 'host' : 'slot ' + p;
  }

  function renderFleet(f) {
    if (!f) { $('fleet').hidden = true; return; }
    $('fleet').hidden = false;
    var h = '<p>member ' + esc(f.id) + ' ' + badge(f.phase === 'active' ? 'running' : 'degraded', f.phase) + (f.error ? ' <span class="mute">' + esc(f.error) + '</span>' : '') + '</p>';
    if (f.status) {
      h += '<table><tr><th>member</th><th>host</th><th>state</th><th class="num">leases</th><th>heartbeat</th></tr>' + f.status.members.map(function (m) {
        return '<tr><td>' + esc(m.id) + '</td><td>' + esc(m.hostname) + ':' + esc(m.pid) + '</td><td>' + badge(m.state === 'active' ? 'running' : 'degraded', m.state) + '</td><td class="num">' + m.leases + '</td><td>' + esc(ago(m.heartbeatAt)) + '</td></tr>';
      }).join('') + '</table>';
      h += '<table><tr><th>worker</th><th class="num">replica</th><th>state</th><th>holder</th><th class="num">term</th><th class="num">restarts</th></tr>' + f.status.replicas.map(function (r) {
        return '<tr><td>' + esc(r.worker) + '</td><td class="num">' + r.replica + '</td><td>' + badge(r.state, r.state) + '</td><td>' + esc(r.hostname || '') + '</td><td class="num">' + r.term + '</td><td class="num">' + r.restarts + '</td></tr>';
      }).join('') + '</table>';
    }
    $('fleet-body').innerHTML = h;
  }

  function render(s) {
    last = s;
    $('state').className = 'badge ' + s.host.state;
    $('state').textContent = s.host.state;
    $('health').className = 'badge ' + s.host.health.status;
    $('health').textContent = s.host.health.status;
    $('reasons').innerHTML = s.host.health.reasons.map(function (r) { return '<li>' + esc(r) + '</li>'; }).join('');
    $('mode').textContent = s.actions ? 'actions enabled' : 'read-only';
    $('k-slots').textContent = s.host.slots.used + ' / ' + s.host.slots.usable;
    $('k-threads').textContent = s.host.threads.workers + ' + ' + s.host.threads.spares;
    $('k-running').textContent = String(s.workers.filter(function (w) { return w.pid !== null; }).length);
    $('k-restarts').textContent = String(s.workers.reduce(function (n, w) { return n + w.restarts; }, 0));
    $('k-latch').textContent = s.waits ? String(s.waits.latchWaits) : '';
    $('k-mq').textContent = bytes(s.queues.bytesSent) + ' / ' + bytes(s.queues.bytesReceived);
    spark('c-run', s.series, 'running');
    spark('c-mq', s.series, 'mqSentPerSec', 'mqReceivedPerSec');
    spark('c-wait', s.series, 'latchWaitsPerSec', 'lockWaitsPerSec');
    $('workers').innerHTML = s.workers.length ? s.workers.map(function (w) { return workerRow(w, s); }).join('') : '<tr><td colspan="11" class="mute">no workers registered</td></tr>';
    $('locks').innerHTML = s.waits && s.waits.locks.length ? s.waits.locks.map(function (l) {
      return '<tr><td>' + esc(l.name) + '</td><td class="num">' + l.waits + '</td><td class="num">' + l.totalMs.toFixed(1) + '</td><td class="num">' + (l.waits ? (l.totalMs / l.waits).toFixed(3) : '') + '</td></tr>';
    }).join('') : '<tr><td colspan="4" class="mute">no lock waits</td></tr>';
    $('queues').innerHTML = s.queues.queues.length ? s.queues.queues.map(function (q) {
      return '<tr><td>' + esc(q.name) + '</td><td>' + procName(s, q.sender) + '</td><td>' + procName(s, q.receiver) + '</td><td class="num">' + bytes(q.ringSize) + '</td><td class="num">' + bytes(q.bytesSent) + '</td><td class="num">' + bytes(q.bytesReceived) + '</td><td class="num">' + bytes(q.bytesSent - q.bytesReceived) + '</td></tr>';
    }).join('') : '<tr><td colspan="7" class="mute">no queues watched (' + s.queues.retired + ' detached)</td></tr>';
    renderFleet(s.fleet);
    $('updated').textContent = new Date(s.t).toLocaleTimeString();
  }

  document.addEventListener('click', function (e) {
    var b = e.target.closest('button[data-act]');
    if (!b) return;
    var kind = b.getAttribute('data-act');
    act(kind, kind === 'terminate' ? { slot: Number(b.getAttribute('data-slot')) } : { name: b.getAttribute('data-name') });
  });

  var es = new EventSource(base + 'events');
  es.addEventListener('snapshot', function (e) { render(JSON.parse(e.data)); });
  es.onopen = function () { $('live').className = 'badge live'; $('live').textContent = 'live'; };
  es.onerror = function () { $('live').className = 'badge down'; $('live').textContent = 'reconnecting'; };
  window.bgwLast = function () { return last; };
})();
`;
