/** Self-contained HTML drift report: summary table + one inline SVG plot per column. No external assets. */
import type { ColumnDrift, ColumnValues, DriftResult } from './drift.js';
import type { OnlineQuality, PredictionDescriptors } from './online.js';
import type { DriftData } from './snapshot.js';
import { compareValues, histogramCounts, sturgesEdges } from './stattests.js';
import type { Value } from './stattests.js';

const REF_COLOR = '#4d6fa8';
const CUR_COLOR = '#e0803a';
const W = 520;
const H = 220;
const PAD = { l: 48, r: 12, t: 12, b: 44 };

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );
}

function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

function clean(values: ColumnValues | undefined): Value[] {
  const out: Value[] = [];
  for (const v of values ?? [])
    if (v !== null && v !== undefined && (typeof v === 'string' || Number.isFinite(v))) out.push(v);
  return out;
}

function frame(yMax: number, body: string, xLabels: string): string {
  const ih = H - PAD.t - PAD.b;
  const ticks = [0, 0.5, 1]
    .map((f) => {
      const y = PAD.t + ih - f * ih;
      return `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${PAD.l - 4}" y="${y + 4}" text-anchor="end" font-size="10">${fmtNum(f * yMax)}</text>`;
    })
    .join('');
  const legend =
    `<rect x="${W - 150}" y="2" width="10" height="10" fill="${REF_COLOR}" fill-opacity="0.6"/><text x="${W - 136}" y="11" font-size="10">reference</text>` +
    `<rect x="${W - 80}" y="2" width="10" height="10" fill="${CUR_COLOR}" fill-opacity="0.6"/><text x="${W - 66}" y="11" font-size="10">current</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${ticks}${body}${xLabels}${legend}</svg>`;
}

/** Overlaid histograms of shares (Sturges bins on pooled data, at least 10 bins). */
export function numericPlotSvg(ref: readonly number[], cur: readonly number[]): string {
  let edges = sturgesEdges(ref, cur);
  if (edges.length - 1 < 10) {
    const lo = edges[0] as number;
    const hi = edges[edges.length - 1] as number;
    edges = Array.from({ length: 11 }, (_, i) => (i === 10 ? hi : lo + (i * (hi - lo)) / 10));
  }
  const nb = edges.length - 1;
  const rs = histogramCounts(ref, edges).map((c) => c / ref.length);
  const cs = histogramCounts(cur, edges).map((c) => c / cur.length);
  const yMax = Math.max(...rs, ...cs, 1e-12);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / nb;
  let body = '';
  for (let i = 0; i < nb; i++) {
    for (const [arr, color] of [
      [rs, REF_COLOR],
      [cs, CUR_COLOR],
    ] as const) {
      const h = ((arr[i] as number) / yMax) * ih;
      body += `<rect x="${(PAD.l + i * bw).toFixed(2)}" y="${(PAD.t + ih - h).toFixed(2)}" width="${Math.max(bw - 1, 0.5).toFixed(2)}" height="${h.toFixed(2)}" fill="${color}" fill-opacity="0.55"><title>[${fmtNum(edges[i] as number)}, ${fmtNum(edges[i + 1] as number)}): ${fmtNum(arr[i] as number)}</title></rect>`;
    }
  }
  const labelEvery = Math.ceil((nb + 1) / 6);
  let labels = '';
  for (let i = 0; i <= nb; i += labelEvery) {
    labels += `<text x="${(PAD.l + i * bw).toFixed(2)}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${fmtNum(edges[i] as number)}</text>`;
  }
  return frame(yMax, body, labels);
}

/** Grouped bars of category shares (top 30 categories by pooled frequency). */
export function categoricalPlotSvg(ref: readonly Value[], cur: readonly Value[]): string {
  const count = (x: readonly Value[]): Map<Value, number> => {
    const m = new Map<Value, number>();
    for (const v of x) m.set(v, (m.get(v) ?? 0) + 1);
    return m;
  };
  const rc = count(ref);
  const cc = count(cur);
  let keys = [...new Set<Value>([...rc.keys(), ...cc.keys()])];
  keys.sort(compareValues);
  if (keys.length > 30) {
    keys = keys
      .sort(
        (a, b) =>
          (rc.get(b) ?? 0) / ref.length +
          (cc.get(b) ?? 0) / cur.length -
          ((rc.get(a) ?? 0) / ref.length + (cc.get(a) ?? 0) / cur.length),
      )
      .slice(0, 30)
      .sort(compareValues);
  }
  const rs = keys.map((k) => (rc.get(k) ?? 0) / ref.length);
  const cs = keys.map((k) => (cc.get(k) ?? 0) / cur.length);
  const yMax = Math.max(...rs, ...cs, 1e-12);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const gw = iw / Math.max(keys.length, 1);
  const bw = Math.max((gw - 4) / 2, 0.5);
  let body = '';
  let labels = '';
  keys.forEach((k, i) => {
    const x0 = PAD.l + i * gw + 2;
    const hr = ((rs[i] as number) / yMax) * ih;
    const hc = ((cs[i] as number) / yMax) * ih;
    const name = escapeHtml(String(k));
    body += `<rect x="${x0.toFixed(2)}" y="${(PAD.t + ih - hr).toFixed(2)}" width="${bw.toFixed(2)}" height="${hr.toFixed(2)}" fill="${REF_COLOR}" fill-opacity="0.8"><title>${name} reference: ${fmtNum(rs[i] as number)}</title></rect>`;
    body += `<rect x="${(x0 + bw).toFixed(2)}" y="${(PAD.t + ih - hc).toFixed(2)}" width="${bw.toFixed(2)}" height="${hc.toFixed(2)}" fill="${CUR_COLOR}" fill-opacity="0.8"><title>${name} current: ${fmtNum(cs[i] as number)}</title></rect>`;
    const label = name.length > 12 ? `${name.slice(0, 11)}…` : name;
    labels += `<text x="${(x0 + bw).toFixed(2)}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${label}</text>`;
  });
  return frame(yMax, body, labels);
}

function columnPlot(col: ColumnDrift, data: DriftData): string {
  const r = clean(data.reference[col.column]);
  const c = clean(data.current[col.column]);
  if (r.length === 0 || c.length === 0) return '<p>No data.</p>';
  if (col.type === 'num' && r.every((v) => typeof v === 'number') && c.every((v) => typeof v === 'number')) {
    return numericPlotSvg(r as number[], c as number[]);
  }
  return categoricalPlotSvg(r, c);
}

export interface HtmlReportOptions {
  title: string;
  /** Online quality from logged next events (a small table; omitted when undefined). */
  online?: OnlineQuality | null;
  /** Prediction-drift descriptors of the current window. */
  prediction?: PredictionDescriptors | null;
  /** Columns left out for lack of data, with the reason. */
  skippedColumns?: ReadonlyArray<{ column: string; reason: string }>;
  /** The quality-drop verdict (online vs the served version's offline metric). */
  quality?: { dropped: boolean; reason: string } | null;
}

function fmtOpt(x: number | null): string {
  return x === null ? '—' : fmtNum(x);
}

function extraSections(options: HtmlReportOptions): string {
  let out = '';
  if (options.online !== undefined || options.prediction !== undefined) {
    const rows: Array<[string, string]> = [];
    const o = options.online;
    if (o) {
      rows.push(
        ['serving records with a session', String(o.records)],
        ['… with a next event (evaluated)', String(o.withNextEvent)],
      );
      rows.push(
        ['hr@20', fmtOpt(o['hr@20'])],
        ['mrr@20', fmtOpt(o['mrr@20'])],
        ['hr@k (request k)', fmtOpt(o['hr@k'])],
        ['mrr@k (request k)', fmtOpt(o['mrr@k'])],
      );
    } else if (o === null) rows.push(['online quality', 'no logged follow-up events']);
    const q = options.quality;
    if (q) rows.push([q.dropped ? 'QUALITY DROP' : 'quality verdict', q.reason]);
    const p = options.prediction;
    if (p) {
      rows.push([
        p.vocabularySize === null
          ? 'coverage (distinct recommended items)'
          : `coverage (distinct recommended / vocabulary ${p.vocabularySize})`,
        fmtNum(p.coverage),
      ]);
      rows.push(
        ['distinct recommended items', String(p.distinctItems)],
        ['top-10 items share of slots', fmtNum(p.top10Share)],
        ['recommended slots', String(p.slots)],
      );
    }
    out += `<h2>Model quality (online) and predictions</h2>
<table class="quality">
<tbody>
${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${escapeHtml(v)}</td></tr>`).join('\n')}
</tbody>
</table>
`;
  }
  if (options.skippedColumns?.length) {
    out += `<h2>Columns not compared</h2>
<ul class="skipped">
${options.skippedColumns.map((c) => `<li><strong>${escapeHtml(c.column)}</strong>: ${escapeHtml(c.reason)}</li>`).join('\n')}
</ul>
`;
  }
  return out;
}

export function renderHtmlReport(result: DriftResult, data: DriftData, options: HtmlReportOptions): string {
  const title = escapeHtml(options.title);
  const rows = result.columns
    .map(
      (c) =>
        `<tr class="${c.drifted ? 'drift' : ''}"><td>${escapeHtml(c.column)}</td><td>${c.type}</td><td>${escapeHtml(c.methodName)} <span class="muted">(${escapeHtml(c.method)})</span></td>` +
        `<td class="num">${fmtNum(c.score)}</td><td class="num">${fmtNum(c.threshold)}</td><td>${c.drifted ? 'yes' : 'no'}</td><td class="num">${c.referenceSize}</td><td class="num">${c.currentSize}</td></tr>`,
    )
    .join('\n');
  const plots = result.columns
    .map(
      (c) =>
        `<section class="plot"><h3>${escapeHtml(c.column)} <span class="${c.drifted ? 'badge drift' : 'badge'}">${c.drifted ? 'drift' : 'no drift'}</span></h3>` +
        `<p class="muted">${escapeHtml(c.methodName)} = ${fmtNum(c.score)} (threshold ${fmtNum(c.threshold)})</p>${columnPlot(c, data)}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.drift td{background:#fde8e8}
.muted{color:#777;font-size:0.9em}.badge{font-size:0.7em;padding:2px 6px;border-radius:8px;background:#e6f4ea}
.badge.drift{background:#fde8e8}.plot{display:inline-block;vertical-align:top;margin:8px 16px 8px 0}
.summary{font-size:1.1em}
</style>
</head>
<body>
<h1>${title}</h1>
<p class="summary">Dataset drift: <strong>${result.datasetDrift ? 'DETECTED' : 'not detected'}</strong> — ${result.nDrifted} of ${result.nColumns} columns drifted (share ${fmtNum(result.share)}, threshold ${fmtNum(result.driftShare)}).</p>
<table>
<thead><tr><th>column</th><th>type</th><th>method</th><th>score</th><th>threshold</th><th>drifted</th><th>ref n</th><th>cur n</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${extraSections(options)}<h2>Distributions</h2>
${plots}
</body>
</html>
`;
}
