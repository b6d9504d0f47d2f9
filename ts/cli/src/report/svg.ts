/**
 * Shared pieces of the SVG charts: escaping, the palette, the font, axis
 * ticks and text-width estimates. Pure functions with no DOM, so the charts
 * render the same in Node (through librsvg, see png.ts) and in a browser.
 */

/** Default chart size in SVG user units (= PNG pixels at scale 1). */
export const CHART_WIDTH = 640;
export const CHART_HEIGHT = 420;

/**
 * A family librsvg finds through fontconfig on Linux (DejaVu ships with most
 * distributions) with generic fallbacks; browsers use their own sans-serif.
 */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/**
 * Colour-blind-safe (Okabe–Ito) colours, in the order series get them, so
 * "train" is always blue and "validation" always vermillion across charts.
 */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'] as const;

export const TEXT_COLOR = '#222222';
export const AXIS_COLOR = '#444444';
export const GRID_COLOR = '#e3e3e3';
export const MUTED_COLOR = '#888888';

export function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** Text safe inside XML/HTML elements and double-quoted attributes (class names may hold `<`, `&`, quotes). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/**
 * Approximate advance width of `text` at `fontSize` in DejaVu Sans, for
 * layout (margins, legend boxes) without measuring. DejaVu is wide: most
 * glyphs are ~0.55–0.65 em; narrow and wide glyphs are weighted so long
 * labels are not badly under- or over-estimated.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) {
    if ('il.,:;|!\'`'.includes(ch)) em += 0.3;
    else if ('fjrt()[]{} -'.includes(ch)) em += 0.4;
    else if ('mwMW%@'.includes(ch)) em += 0.9;
    else if (ch >= 'A' && ch <= 'Z') em += 0.7;
    else em += 0.62;
  }
  return em * fontSize;
}

/** `text` cut to at most `maxWidth` (estimated) with an ellipsis, so long class names cannot push into the plot. */
export function truncateText(text: string, fontSize: number, maxWidth: number): string {
  if (textWidth(text, fontSize) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(chars.join('') + '…', fontSize) > maxWidth) chars.pop();
  return chars.join('') + '…';
}

/**
 * `text` broken at spaces into lines of at most `maxWidth` (estimated), at
 * most `maxLines` of them; the last line is cut with an ellipsis if needed.
 */
export function wrapText(text: string, fontSize: number, maxWidth: number, maxLines = 3): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  lines.push(line);
  const kept = lines.slice(0, maxLines);
  if (lines.length > maxLines) kept[maxLines - 1] = `${kept[maxLines - 1]!} ${lines.slice(maxLines).join(' ')}`;
  return kept.map((l) => truncateText(l, fontSize, maxWidth));
}

/** A number as SVG coordinate text: two decimals at most keeps files small with sub-pixel accuracy. */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export interface Ticks {
  min: number;
  max: number;
  step: number;
  values: number[];
  /** Decimals that print every tick exactly and alike (0.25 → 2). */
  decimals: number;
}

function decimalsOf(step: number): number {
  const s = String(Number(step.toPrecision(12)));
  if (s.includes('e-')) return Number(s.split('e-')[1]);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/**
 * Round tick values (1, 2, 2.5 or 5 × 10^k) covering [lo, hi] with about
 * `target` intervals; the axis range is widened to whole ticks so the data
 * never pass the first or last tick. A flat range is widened around its
 * value, an empty one (no finite data) becomes [0, 1].
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const pad = lo === 0 ? 0.5 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  // Tiny tolerance: 0.30000000000000004 / 0.1 must not grow the range by a whole tick.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const decimals = decimalsOf(step);
  const values: number[] = [];
  for (let i = first; i <= last; i++) values.push(Number((i * step).toFixed(decimals)));
  return { min: values[0]!, max: values[values.length - 1]!, step, values, decimals };
}

/** A tick label: fixed decimals from the tick step, and "0" rather than "-0". */
export function formatTick(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return Number(s) === 0 ? (0).toFixed(decimals) : s;
}

/** Linear map from data [d0, d1] to pixels [p0, p1]. */
export function scale(d0: number, d1: number, p0: number, p1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (p1 - p0) / (d1 - d0);
  return (v) => p0 + (v - d0) * k;
}

/** `<text>` with escaped content; `attrs` are trusted attribute text written by the charts. */
export function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`;
}

/** The root element with a white background (PNG output is opaque) and the font on everything inside. */
export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="${FONT_FAMILY}" fill="${TEXT_COLOR}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

export interface LegendEntry {
  label: string;
  color: string;
  /** How the swatch is drawn: a line (optionally dashed), a dot, or a filled square. */
  kind: 'line' | 'dashed' | 'dot' | 'square';
}

/**
 * Legend entries in rows from `x` to `x + maxWidth`, starting at baseline
 * `y`, wrapping when a row is full. Returns the SVG and the height used, so
 * the caller can start the plot below it and nothing overlaps the data.
 */
export function legendRows(
  entries: readonly LegendEntry[],
  x: number,
  y: number,
  maxWidth: number,
  fontSize = 12,
): { svg: string[]; height: number } {
  const svg: string[] = [];
  const rowHeight = fontSize + 8;
  const swatch = 22;
  let cx = x;
  let row = 0;
  for (const e of entries) {
    const label = truncateText(e.label, fontSize, maxWidth - swatch - 6);
    const w = swatch + 6 + textWidth(label, fontSize) + 18;
    if (cx > x && cx + w - 18 > x + maxWidth) {
      row++;
      cx = x;
    }
    const by = y + row * rowHeight;
    const my = by - fontSize * 0.35;
    svg.push(swatchSvg(e, cx, my, swatch));
    svg.push(text(cx + swatch + 6, by, label, `font-size="${fontSize}"`));
    cx += w;
  }
  // Grouped so tools (and tests) can tell legend swatches from data marks.
  return { svg: ['<g class="legend">', ...svg, '</g>'], height: entries.length === 0 ? 0 : (row + 1) * rowHeight };
}

export function swatchSvg(e: LegendEntry, x: number, midY: number, width: number): string {
  switch (e.kind) {
    case 'square':
      return `<rect x="${px(x + width / 2 - 6)}" y="${px(midY - 6)}" width="12" height="12" fill="${e.color}"/>`;
    case 'dot':
      return `<circle cx="${px(x + width / 2)}" cy="${px(midY)}" r="4.5" fill="${e.color}" stroke="#ffffff" stroke-width="1"/>`;
    default:
      return (
        `<line x1="${px(x)}" y1="${px(midY)}" x2="${px(x + width)}" y2="${px(midY)}" stroke="${e.color}" stroke-width="2.5"` +
        (e.kind === 'dashed' ? ' stroke-dasharray="5 3"' : '') +
        '/>'
      );
  }
}
