/**
 * Two small chart types drawn as plain SVG (no dependency): grouped
 * horizontal bars on a log scale, and lines over categories.
 */

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface BarGroup {
  label: string;
  /** One value per series, in series order (NaN: no bar). */
  values: number[];
}

/** Grouped horizontal bars, log-scaled x axis (values must be > 0 to show). */
export function groupedBarsLog(options: { title: string; unit: string; series: string[]; groups: BarGroup[] }): string {
  const { title, unit, series, groups } = options;
  const left = 140;
  const right = 30;
  const top = 66;
  const barHeight = 10;
  const groupGap = 14;
  const width = 760;
  const groupHeight = series.length * barHeight + groupGap;
  const height = top + groups.length * groupHeight + 60;
  const values = groups.flatMap((g) => g.values).filter((v) => Number.isFinite(v) && v > 0);
  const min = Math.max(0.01, Math.min(...values, 1));
  const max = Math.max(...values, 10);
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const plot = width - left - right;
  const x = (v: number): number => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plot;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escape(title)}</text>`);
  const axisY = top + groups.length * groupHeight;
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${axisY}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${gx}" y="${axisY + 16}" text-anchor="middle" fill="#374151">${escape(formatTick(10 ** e))}</text>`);
  }
  out.push(`<text x="${left + plot / 2}" y="${axisY + 34}" text-anchor="middle" fill="#374151">${escape(unit)} (log scale)</text>`);
  groups.forEach((group, gi) => {
    const gy = top + gi * groupHeight;
    out.push(`<text x="${left - 8}" y="${gy + (series.length * barHeight) / 2 + 4}" text-anchor="end">${escape(group.label)}</text>`);
    group.values.forEach((value, si) => {
      if (!Number.isFinite(value) || value <= 0) return;
      const y = gy + si * barHeight;
      out.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(value) - left)}" height="${barHeight - 2}" fill="${PALETTE[si % PALETTE.length]}"/>`);
      out.push(`<text x="${x(value) + 4}" y="${y + barHeight - 3}" font-size="9" fill="#374151">${escape(formatTick(value))}</text>`);
    });
  });
  legend(out, series, left, top - 32);
  out.push('</svg>');
  return out.join('\n');
}

export interface Line {
  label: string;
  /** One value per category (NaN: no point). */
  values: number[];
}

/** Lines over categorical x values, linear y axis from 0. */
export function lines(options: { title: string; xLabel: string; yLabel: string; categories: string[]; lines: Line[] }): string {
  const { title, xLabel, yLabel, categories } = options;
  const width = 760;
  const height = 420;
  const left = 80;
  const right = 30;
  const top = 60;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = options.lines.flatMap((l) => l.values).filter(Number.isFinite);
  const max = niceMax(Math.max(...values, 1));
  const x = (i: number): number => left + (categories.length === 1 ? plotW / 2 : (i / (categories.length - 1)) * plotW);
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escape(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    out.push(`<line x1="${left}" y1="${y(v)}" x2="${width - right}" y2="${y(v)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#374151">${escape(formatTick(v))}</text>`);
  }
  categories.forEach((c, i) => out.push(`<text x="${x(i)}" y="${top + plotH + 18}" text-anchor="middle" fill="#374151">${escape(c)}</text>`));
  out.push(`<text x="${left + plotW / 2}" y="${height - 14}" text-anchor="middle" fill="#374151">${escape(xLabel)}</text>`);
  out.push(`<text x="18" y="${top + plotH / 2}" text-anchor="middle" fill="#374151" transform="rotate(-90 18 ${top + plotH / 2})">${escape(yLabel)}</text>`);
  options.lines.forEach((line, li) => {
    const colour = PALETTE[li % PALETTE.length];
    const points = line.values.map((v, i) => (Number.isFinite(v) ? `${x(i)},${y(v)}` : null)).filter((p): p is string => p !== null);
    if (points.length > 1) out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of points) {
      const [px, py] = p.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${colour}"/>`);
    }
  });
  legend(
    out,
    options.lines.map((l) => l.label),
    left,
    top - 28,
  );
  out.push('</svg>');
  return out.join('\n');
}

function legend(out: string[], labels: string[], x: number, y: number): void {
  let cx = x;
  labels.forEach((label, i) => {
    out.push(`<rect x="${cx}" y="${y}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${cx + 16}" y="${y + 10}">${escape(label)}</text>`);
    cx += 28 + label.length * 7;
  });
}

function niceMax(value: number): number {
  const exponent = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exponent >= value) return step * exponent;
  return 10 * exponent;
}

function formatTick(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)}k`;
  if (value >= 10) return value.toFixed(0);
  if (value >= 1) return value.toFixed(1).replace(/\.0$/, '');
  return value.toPrecision(1);
}
