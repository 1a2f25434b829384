/**
 * The benchmark chart: one row per figure, its ratio ours / baseline on a log axis, with the
 * baseline (ratio 1) as a line across and the target as a tick on the row; the dot is green
 * when the target is met, red when it is missed, grey when the figure was not measured.
 * Written as plain SVG next to the results JSON so a reader can look rather than read.
 */
import type { Figure } from './types.js';

const ROW = 26;
const LABEL = 150;
const PLOT = 520;
const RIGHT = 190;
const TOP = 46;
const MIN_LOG = -3;
const MAX_LOG = 2;

const x = (ratio: number): number => {
  const l = Math.min(MAX_LOG, Math.max(MIN_LOG, Math.log10(ratio)));
  return LABEL + ((l - MIN_LOG) / (MAX_LOG - MIN_LOG)) * PLOT;
};

/** The ratio a "ratio <= 0.1" / "ratio >= 5" target names, if it names one. */
function targetRatio(target: string): number | null {
  const m = /^ratio [<>]= ([\d.]+)$/.exec(target);
  return m ? Number(m[1]) : null;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function row(f: Figure, i: number): string {
  const y = TOP + i * ROW + ROW / 2;
  const colour = f.met === null ? '#999' : f.met ? '#2a9d4b' : '#d1392b';
  const t = targetRatio(f.target);
  const parts = [`<text x="${LABEL - 8}" y="${y + 4}" text-anchor="end">${esc(f.id)}</text>`];
  if (t !== null) parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y - 8}" y2="${y + 8}" stroke="#555" stroke-width="2"/>`);
  if (f.ratio !== null) {
    parts.push(`<line x1="${x(1)}" x2="${x(f.ratio)}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<circle cx="${x(f.ratio)}" cy="${y}" r="5" fill="${colour}"/>`);
  }
  const value = f.ratio === null ? 'not measured' : `${f.ratio.toPrecision(3)} (${f.target})`;
  parts.push(`<text x="${LABEL + PLOT + 10}" y="${y + 4}" fill="${colour}">${esc(value)}</text>`);
  return parts.join('');
}

function axis(height: number): string {
  const ticks = [];
  for (let l = MIN_LOG; l <= MAX_LOG; l++) {
    const px = x(10 ** l);
    ticks.push(`<line x1="${px}" x2="${px}" y1="${TOP - 6}" y2="${height - 24}" stroke="#eee"/>`);
    ticks.push(`<text x="${px}" y="${height - 8}" text-anchor="middle">${10 ** l}</text>`);
  }
  ticks.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${TOP - 6}" y2="${height - 24}" stroke="#888" stroke-dasharray="4 3"/>`);
  return ticks.join('');
}

export function chartSvg(figures: Figure[], title: string): string {
  const height = TOP + figures.length * ROW + 34;
  const width = LABEL + PLOT + RIGHT;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LABEL}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LABEL}" y="34" fill="#555">ours / baseline (same run), log scale; dashed: the baseline; tick: the target</text>`,
    axis(height),
    ...figures.map(row),
    '</svg>',
    '',
  ].join('\n');
}
