/** ROC curves as an SVG string: square unit plot, chance diagonal, AUC in the legend, optional operating points. */
import { BOTTOM_MARGIN, TITLE_FONT, axes, leftMargin } from './axes.js';
import {
  CHART_HEIGHT,
  CHART_WIDTH,
  MUTED_COLOR,
  niceTicks,
  paletteColor,
  px,
  scale,
  svgDocument,
  swatchSvg,
  text,
  wrapText,
  type LegendEntry,
} from './svg.js';

export interface RocSeries {
  /** Legend label, e.g. "test" or "malignant vs benign"; escaped. */
  name: string;
  /** False positive rates, from 0 up to 1 (the SDK's `rocCurve`). */
  fpr: readonly number[];
  /** True positive rates, one per `fpr`. */
  tpr: readonly number[];
  /** Area under the curve, printed in the legend (the SDK's `rocAuc`). */
  auc?: number;
  color?: string;
}

/** A decision threshold's operating point, e.g. 0.5 and the stored threshold. */
export interface RocMarker {
  name: string;
  fpr: number;
  tpr: number;
  color?: string;
}

export interface RocChartOptions {
  /** Default "ROC curve". */
  title?: string;
  markers?: readonly RocMarker[];
  width?: number;
  height?: number;
}

/**
 * Points of the curve without the interior points of horizontal or vertical
 * runs: a curve over thousands of samples is mostly such runs, and dropping
 * them keeps the SVG small without changing what is drawn.
 */
function simplify(fpr: readonly number[], tpr: readonly number[]): [number, number][] {
  const pts: [number, number][] = [];
  const n = Math.min(fpr.length, tpr.length);
  for (let i = 0; i < n; i++) {
    const p: [number, number] = [fpr[i]!, tpr[i]!];
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) continue;
    const a = pts[pts.length - 2];
    const b = pts[pts.length - 1];
    if (a && b && ((a[0] === b[0] && b[0] === p[0]) || (a[1] === b[1] && b[1] === p[1]))) pts[pts.length - 1] = p;
    else pts.push(p);
  }
  return pts;
}

export function rocChart(curves: readonly RocSeries[], options: RocChartOptions = {}): string {
  const width = options.width ?? CHART_WIDTH;
  const height = options.height ?? CHART_HEIGHT;
  const title = options.title ?? 'ROC curve';
  const ticks = niceTicks(0, 1, 5);
  // A square plot so the diagonal is at 45°; the legend takes the space on the right.
  const top = 44;
  const bottom = height - BOTTOM_MARGIN;
  const left = leftMargin(ticks);
  const right = left + (bottom - top);
  const rect = { left, top, right, bottom };
  // A small margin inside the frame: ROC curves run along tpr = 1 and fpr = 0, which the frame would hide.
  const pad = 6;
  const sx = scale(0, 1, left + pad, right - pad);
  const sy = scale(0, 1, bottom - pad, top + pad);

  const body: string[] = [];
  body.push(text(width / 2, 24, title, `font-size="${TITLE_FONT}" font-weight="bold" text-anchor="middle"`));
  body.push(...axes(rect, ticks, ticks, sx, sy, 'False positive rate', 'True positive rate'));
  body.push(
    `<line x1="${px(sx(0))}" y1="${px(sy(0))}" x2="${px(sx(1))}" y2="${px(sy(1))}" stroke="${MUTED_COLOR}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );

  const entries: LegendEntry[] = [];
  curves.forEach((c, i) => {
    const color = c.color ?? paletteColor(i);
    const pts = simplify(c.fpr, c.tpr);
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(sx(p[0]))} ${px(sy(p[1]))}`).join(' ');
    // One curve: shade the area under it, which is what the AUC measures.
    if (curves.length === 1 && pts.length > 1) {
      body.push(`<path d="${d} L${px(sx(pts[pts.length - 1]![0]))} ${px(sy(0))} L${px(sx(pts[0]![0]))} ${px(sy(0))} Z" fill="${color}" fill-opacity="0.08" stroke="none"/>`);
    }
    if (pts.length > 1) {
      body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.25" stroke-linejoin="round"/>`);
    }
    entries.push({ label: c.auc === undefined ? c.name : `${c.name} (AUC = ${c.auc.toFixed(3)})`, color, kind: 'line' });
  });
  entries.push({ label: 'chance (AUC = 0.500)', color: MUTED_COLOR, kind: 'dashed' });
  (options.markers ?? []).forEach((m, i) => {
    const color = m.color ?? paletteColor(curves.length + i);
    body.push(
      `<circle cx="${px(sx(m.fpr))}" cy="${px(sy(m.tpr))}" r="5.5" fill="${color}" stroke="#ffffff" stroke-width="1.5"/>`,
    );
    entries.push({ label: m.name, color, kind: 'dot' });
  });

  // Legend right of the plot, one entry under the other; long labels wrap
  // (operating-point labels carry the threshold and how it was chosen).
  const lx = right + 22;
  const maxLabel = width - lx - 28 - 8;
  const fontSize = 12;
  let by = top + 14;
  body.push('<g class="legend">');
  for (const e of entries) {
    body.push(swatchSvg(e, lx, by - fontSize * 0.35, 22));
    for (const line of wrapText(e.label, fontSize, maxLabel)) {
      body.push(text(lx + 28, by, line, `font-size="${fontSize}"`));
      by += fontSize + 3;
    }
    by += 7;
  }
  body.push('</g>');
  return svgDocument(width, height, title, body);
}
