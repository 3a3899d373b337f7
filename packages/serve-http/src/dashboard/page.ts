import { createHash } from 'node:crypto';

/**
 * The dashboard page: static markup and a script that fills it from /dashboard/api/*. No number is
 * baked in; Chart.js (served from node_modules) draws the charts.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>skiff dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
 header{background:#1d2330;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:baseline}
 header h1{font-size:18px;margin:0} header a{color:#9cc3ff}
 main{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;padding:16px 24px}
 section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0001}
 h2{font-size:15px;margin:4px 0 10px}
 table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
 th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eee} th{font-weight:600;color:#555}
 .tag{display:inline-block;background:#e6f0ff;color:#1747a6;border-radius:4px;padding:0 6px;margin-right:4px}
 .drift{color:#b3261e;font-weight:600} .ok{color:#1e7b34}
 .muted{color:#777} input{font:inherit;padding:4px 6px} button{font:inherit;padding:4px 12px}
 canvas{max-height:260px}
 td a{white-space:nowrap}
</style></head>
<body>
<header><h1>skiff</h1><span id="serving">loading…</span><span id="temporal-link"></span></header>
<main>
 <section><h2>Registry</h2>
  <table id="registry-table"><thead><tr><th>version</th><th>model</th><th>HR@20</th><th>MRR@20</th><th>POP HR@20</th><th>aliases</th><th>gate</th><th>snapshot</th><th>run</th><th>created</th></tr></thead><tbody></tbody></table>
  <h2 style="margin-top:14px">Alias history</h2><ul id="alias-history" class="muted"></ul>
  <h2 style="margin-top:14px">Promotion gate (candidate vs baselines and champion, paired bootstrap intervals)</h2><ul id="gate-decisions" class="muted"></ul>
 </section>
 <section><h2>Training curves (loss, validation HR@20 per epoch)</h2><canvas id="training-chart"></canvas></section>
 <section><h2>Monitoring — latest run <span id="monitoring-verdict"></span></h2>
  <table id="monitoring-table"><thead><tr><th>column</th><th>test</th><th>score</th><th>threshold</th><th>verdict</th></tr></thead><tbody></tbody></table>
  <p id="monitoring-links" class="muted"></p><canvas id="drift-chart"></canvas>
 </section>
 <section><h2>Online quality (per hour)</h2><canvas id="online-chart"></canvas><p id="online-note" class="muted"></p></section>
 <section><h2>Model selection — latest <span id="selection-status" class="muted"></span></h2>
  <table id="selection-table"><thead><tr><th>candidate</th><th>model</th><th>status</th><th>epoch</th><th>val HR@20</th><th>val MRR@20</th><th>attempts</th><th>seconds</th></tr></thead><tbody></tbody></table>
 </section>
 <section><h2>Recent training runs</h2>
  <table id="runs-table"><thead><tr><th>run</th><th>model</th><th>status</th><th>started</th><th>seconds</th><th>loss</th><th>val HR@20</th></tr></thead><tbody></tbody></table>
 </section>
 <section><h2>Try it</h2>
  <p class="muted">Item ids of a session, oldest first, comma-separated.</p>
  <input id="try-items" size="40"> k <input id="try-k" type="number" value="10" min="1" max="200" style="width:4em">
  <button id="try-button">Recommend</button>
  <table id="try-results"><thead><tr><th>#</th><th>item</th><th>score</th><th>category</th><th>price</th></tr></thead><tbody></tbody></table>
  <p id="try-note" class="muted"></p>
 </section>
</main>
<script src="/dashboard/assets/chart.umd.js"></script>
<script>
const $ = (id) => document.getElementById(id);
const fmt = (v, d = 4) => (typeof v === 'number' ? v.toFixed(d) : '–');
const short = (s) => (s.length > 22 ? s.slice(0, 21) + '…' : s);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
async function get(path) { const r = await fetch(path); if (!r.ok) throw new Error(path + ' ' + r.status); return r.json(); }

async function loadRegistry() {
  const reg = await get('/dashboard/api/registry');
  const byVersion = {};
  for (const [alias, v] of Object.entries(reg.aliases)) (byVersion[v] ??= []).push(alias);
  $('registry-table').tBodies[0].innerHTML = reg.versions.map((v) => '<tr data-version="' + esc(v.version) + '"><td>' + esc(v.version) + '</td><td>' + esc(v.name) + '</td><td class="hr20">' + fmt(v.metrics['hr@20']) + '</td><td>' + fmt(v.metrics['mrr@20']) + '</td><td>' + fmt(v.baselines?.pop?.['hr@20']) + '</td><td>' + (byVersion[v.version] ?? []).map((a) => '<span class="tag">' + esc(a) + '</span>').join('') + '</td><td class="gate" title="' + esc(v.gate?.reason ?? '') + '">' + (v.gate ? (v.gate.promote ? 'promoted ' + esc(v.gate.promote) : 'not promoted') : '–') + '</td><td>' + esc(v.lineage.snapshotId) + '</td><td>' + (v.workflowUrl ? '<a title="' + esc(v.lineage.workflowId) + '" href="' + esc(v.workflowUrl) + '">' + esc(short(v.lineage.workflowId)) + '</a>' : esc(short(v.lineage.workflowId ?? ''))) + '</td><td class="muted">' + esc(v.createdAt.slice(0, 19)) + '</td></tr>').join('') || '<tr><td colspan="10" class="muted">no versions yet</td></tr>';
  $('gate-decisions').innerHTML = reg.versions.filter((v) => v.gate).slice(0, 8).map((v) => '<li><b>' + esc(v.version) + '</b> ' + (v.gate.promote ? 'promoted ' + esc(v.gate.promote) : 'not promoted') + ' — ' + esc(v.gate.reason) + '</li>').join('') || '<li>no gate decisions recorded</li>';
  $('alias-history').innerHTML = (reg.history ?? []).slice(-8).reverse().map((h) => '<li>' + esc(String(h.at ?? '').slice(0, 19).replace('T', ' ')) + ' <b>' + esc(h.alias ?? '') + '</b> ' + esc(h.from ?? '∅') + ' → ' + esc(h.to ?? '∅') + (h.actor ? ' by ' + esc(h.actor) : '') + (h.reason ? ' — ' + esc(h.reason) : '') + '</li>').join('') || '<li>no alias moves recorded</li>';
  const curves = reg.versions.filter((v) => v.losses.length).slice(0, 6);
  const epochs = Math.max(0, ...curves.map((v) => v.losses.length));
  const datasets = curves.flatMap((v) => [
    { label: v.version + ' loss', data: v.losses, yAxisID: 'y' },
    ...(v.validation.length ? [{ label: v.version + ' validation HR@20', data: v.validation.map((p) => p['hr@20']), yAxisID: 'y1', borderDash: [4, 3] }] : []),
  ]);
  new Chart($('training-chart'), { type: 'line', data: { labels: Array.from({ length: epochs }, (_, i) => 'epoch ' + (i + 1)), datasets }, options: { animation: false, scales: { y: { position: 'left', title: { display: true, text: 'loss' } }, y1: { position: 'right', min: 0, max: 1, title: { display: true, text: 'HR@20' } } } } });
}

async function loadRuns() {
  const { runs } = await get('/dashboard/api/runs');
  $('runs-table').tBodies[0].innerHTML = runs.map((r) => '<tr><td>' + (r.workflowUrl ? '<a title="' + esc(r.name) + '" href="' + esc(r.workflowUrl) + '">' + esc(short(r.name)) + '</a>' : esc(short(r.name))) + '</td><td>' + esc(r.experiment) + '</td><td class="' + (r.status === 'finished' ? 'ok' : r.status === 'running' ? '' : 'drift') + '" title="' + esc(r.error ?? '') + '">' + esc(r.status) + '</td><td class="muted">' + esc(r.startedAt.slice(0, 19).replace('T', ' ')) + '</td><td>' + fmt(r.seconds, 1) + '</td><td>' + fmt(r.loss) + '</td><td>' + fmt(r.valHr20) + '</td></tr>').join('') || '<tr><td colspan="7" class="muted">no training runs tracked yet</td></tr>';
}

async function loadMonitoring() {
  const mon = await get('/dashboard/api/monitoring');
  const last = mon.runs[0];
  if (!last) { $('monitoring-verdict').textContent = '(no monitoring run yet)'; return; }
  const d = last.drift;
  $('monitoring-verdict').innerHTML = d.datasetDrift ? '<span class="drift">dataset drift</span>' : '<span class="ok">no dataset drift</span>';
  $('monitoring-table').tBodies[0].innerHTML = d.columns.map((c) => '<tr><td>' + esc(c.column) + '</td><td>' + esc(c.methodName ?? c.method) + '</td><td>' + fmt(Number(c.score), 5) + '</td><td>' + esc(c.threshold) + '</td><td class="' + (c.drifted ? 'drift">drift' : 'ok">ok') + '</td></tr>').join('');
  $('monitoring-links').innerHTML = 'share of drifted columns ' + fmt(d.share, 2) + ' (threshold ' + esc(d.driftShare) + ') · <a href="' + esc(last.reportUrl) + '">full report with plots</a>';
  const runs = mon.runs.slice().reverse();
  new Chart($('drift-chart'), { type: 'bar', data: { labels: runs.map((r) => r.id.slice(0, 16)), datasets: [{ label: 'share of drifted columns', data: runs.map((r) => r.drift.share) }] }, options: { animation: false, scales: { y: { min: 0, max: 1 } } } });
}

async function loadOnline() {
  const on = await get('/dashboard/api/online');
  $('online-note').textContent = on.hours.length ? on.hours.reduce((a, h) => a + h.requests, 0) + ' requests logged' : 'no traffic logged yet';
  new Chart($('online-chart'), { type: 'line', data: { labels: on.hours.map((h) => h.hour.slice(5, 16)), datasets: [
    { label: 'requests', data: on.hours.map((h) => h.requests), yAxisID: 'y' },
    { label: 'online HR (next event in list)', data: on.hours.map((h) => h.hr), yAxisID: 'y1' } ] },
    options: { animation: false, scales: { y: { position: 'left' }, y1: { position: 'right', min: 0, max: 1 } } } });
}

async function loadServing() {
  const r = await fetch('/readyz'); const b = await r.json();
  $('serving').textContent = r.ok ? 'serving ' + b.model.name + ' ' + b.model.version : 'no model loaded';
  const info = await get('/dashboard/api/info');
  if (info.temporalUiUrl) $('temporal-link').innerHTML = '<a href="' + esc(info.temporalUiUrl) + '">Temporal Web UI</a>';
  if (info.sampleSession && !$('try-items').value) $('try-items').value = info.sampleSession.join(',');
}

$('try-button').addEventListener('click', async () => {
  const items = $('try-items').value.split(',').map((s) => s.trim()).filter(Boolean);
  const res = await fetch('/v1/recommendations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items, k: Number($('try-k').value) || 10, sessionId: 'dashboard-' + Date.now() }) });
  const body = await res.json();
  if (!res.ok) { $('try-note').textContent = body.error.code + ': ' + body.error.message; $('try-results').tBodies[0].innerHTML = ''; return; }
  const meta = await get('/dashboard/api/items?ids=' + encodeURIComponent(body.items.map((i) => i.itemId).join(',')));
  $('try-results').tBodies[0].innerHTML = body.items.map((it, i) => '<tr class="try-row"><td>' + (i + 1) + '</td><td>' + esc(it.itemId) + '</td><td>' + fmt(it.score) + '</td><td>' + esc(meta[it.itemId]?.category ?? '–') + '</td><td>' + fmt(meta[it.itemId]?.price ?? undefined, 2) + '</td></tr>').join('');
  $('try-note').textContent = 'model ' + body.model.version + (body.unknownItems ? ' · ' + body.unknownItems + ' unknown item(s) ignored' : '');
});

async function loadSelection() {
  const { selection: s } = await get('/dashboard/api/selection');
  if (!s) { $('selection-table').tBodies[0].innerHTML = '<tr><td colspan="8" class="muted">no model selection tracked yet</td></tr>'; return; }
  $('selection-status').textContent = s.workflowId + ' · ' + s.status + (s.chosen ? ' · chosen ' + s.chosen : '');
  $('selection-table').tBodies[0].innerHTML = s.candidates.map((c) => '<tr' + (c.name === s.chosen ? ' class="ok"' : '') + '><td>' + esc(c.name) + (c.name === s.chosen ? ' ✓' : '') + '</td><td>' + esc(c.model) + '</td><td>' + esc(c.status) + '</td><td>' + (c.epoch === null ? '–' : esc(String(c.epoch)) + (c.epochs ? '/' + esc(String(c.epochs)) : '')) + '</td><td>' + fmt(c.valHr20) + '</td><td>' + fmt(c.valMrr20) + '</td><td>' + esc(String(c.attempts)) + '</td><td>' + fmt(c.seconds, 1) + '</td></tr>').join('');
}

Promise.all([loadServing(), loadRegistry(), loadRuns(), loadSelection(), loadMonitoring(), loadOnline()]).then(() => document.body.dataset.loaded = 'true', (e) => { document.body.dataset.loaded = 'error'; console.error(e); });
</script>
</body></html>`;

/** The CSP source that allows the page's inline script (and nothing else inline). */
export const DASHBOARD_SCRIPT_HASH = (() => {
  const m = /<script>([\s\S]*?)<\/script>/.exec(DASHBOARD_HTML);
  if (!m) throw new Error('dashboard page has no inline script');
  return `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`;
})();
