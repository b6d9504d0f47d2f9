/** Confusion matrix as an SVG heat map: counts printed in the cells, a colour bar, class names on both axes. */
import { ConfigError } from '@lite-cnn/sdk';
import { LABEL_FONT, TITLE_FONT } from './axes.js';
import {
  AXIS_COLOR,
  CHART_HEIGHT,
  CHART_WIDTH,
  formatTick,
  niceTicks,
  px,
  svgDocument,
  text,
  textWidth,
  truncateText,
} from './svg.js';

export interface ConfusionMatrixChartOptions {
  /**
   * Colour each cell by its share of the true class (its row), and print that
   * share under the count: recall per class is then the diagonal, readable
   * even when classes are imbalanced. Default false: colour by count.
   */
  normalize?: boolean;
  /** Default "Confusion matrix" (with "normalized by true class" when normalizing). */
  title?: string;
  width?: number;
  height?: number;
}

// matplotlib's "Blues": light for few, dark for many; monotone in lightness, so it also reads in greyscale.
const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];

function hexRgb(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** The colour of `t` in [0, 1] on the Blues ramp, interpolated between its stops. */
export function blues(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(x));
  const a = hexRgb(BLUES[i]!);
  const b = hexRgb(BLUES[i + 1]!);
  const f = x - i;
  return '#' + a.map((v, k) => Math.round(v + (b[k]! - v) * f).toString(16).padStart(2, '0')).join('');
}

function checkMatrix(matrix: readonly (readonly number[])[], classNames: readonly string[]): void {
  const n = classNames.length;
  if (n === 0) throw new ConfigError('confusionMatrixChart: expected at least one class name, got none');
  if (matrix.length !== n || matrix.some((row) => row.length !== n)) {
    throw new ConfigError(
      `confusionMatrixChart: expected a ${n}x${n} matrix (one row and column per class name), ` +
        `got ${matrix.length} rows of lengths ${[...new Set(matrix.map((r) => r.length))].join(', ') || 'none'}`,
    );
  }
  for (const row of matrix) {
    for (const v of row) {
      if (!(Number.isFinite(v) && v >= 0)) throw new ConfigError(`confusionMatrixChart: expected counts >= 0, got ${String(v)}`);
    }
  }
}

const percent = (v: number): string => `${(v * 100).toFixed(v >= 0.9995 || v === 0 ? 0 : 1)}%`;

/**
 * The matrix (rows = true class, columns = predicted, as the SDK's
 * `confusionMatrix`) as a square grid of cells sized to fit the chart. Cells
 * print their count (and row share when normalizing) when there is room;
 * with many classes the colours alone remain. Long class names are cut with
 * an ellipsis; column names turn 45° when they are wider than a cell.
 */
export function confusionMatrixChart(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[],
  options: ConfusionMatrixChartOptions = {},
): string {
  checkMatrix(matrix, classNames);
  const width = options.width ?? CHART_WIDTH;
  const height = options.height ?? CHART_HEIGHT;
  const normalize = options.normalize ?? false;
  const title = options.title ?? (normalize ? 'Confusion matrix (colour: share of true class)' : 'Confusion matrix');
  const n = classNames.length;
  const labelFont = n > 12 ? 9 : n > 6 ? 11 : 12;

  const rowSums = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const max = Math.max(0, ...matrix.flat());
  const shade = (t: number, c: number): number =>
    normalize ? (rowSums[t]! > 0 ? matrix[t]![c]! / rowSums[t]! : 0) : max > 0 ? matrix[t]![c]! / max : 0;

  const rowLabels = classNames.map((s) => truncateText(s, labelFont, 130));
  const rowLabelW = Math.max(...rowLabels.map((s) => textWidth(s, labelFont)));
  const fullColW = Math.max(...classNames.map((s) => textWidth(s, labelFont)));
  // Rotated column names are cut shorter than row names: at 45° they also take height from the grid.
  const rotatedLabels = classNames.map((s) => truncateText(s, labelFont, 110));
  const rotatedW = Math.max(...rotatedLabels.map((s) => textWidth(s, labelFont)));

  // Colour bar on the right: bar, tick marks and labels such as "100%" or "1,250".
  const barW = 14;
  const barTicks = normalize ? niceTicks(0, 1, 4) : niceTicks(0, Math.max(max, 1), 4);
  const barMax = normalize ? 1 : Math.max(max, 1);
  const barLabel = (v: number): string => (normalize ? `${Math.round(v * 100)}%` : formatTick(v, barTicks.decimals));
  const barValues = barTicks.values.filter((v) => v <= barMax + 1e-9);
  const barLabelW = Math.max(...barValues.map((v) => textWidth(barLabel(v), 11)));
  const barSpace = 24 + barW + 6 + barLabelW;

  const top = 48;
  const leftStuff = 12 + LABEL_FONT + 12 + rowLabelW + 8;
  const availW = width - 16 - leftStuff - barSpace;
  const bottomFor = (colH: number): number => 8 + colH + 10 + LABEL_FONT + 10;
  let cell = Math.floor(Math.min(availW, height - top - bottomFor(labelFont + 4)) / n);
  // Column names stay horizontal when every full name fits its cell, else turn 45°.
  const rotate = fullColW > cell - 4;
  const colLabels = rotate ? rotatedLabels : [...classNames];
  const colH = rotate ? rotatedW * Math.SQRT1_2 + labelFont : labelFont + 4;
  if (rotate) {
    cell = Math.floor(Math.min(availW, height - top - bottomFor(colH)) / n);
  }
  cell = Math.max(cell, 2);
  const side = cell * n;
  // Centre the whole group (labels, grid, colour bar) horizontally.
  const groupW = leftStuff + side + barSpace;
  const x0 = Math.max(8, (width - groupW) / 2);
  const left = x0 + leftStuff;
  const gridBottom = top + side;

  const body: string[] = [];
  body.push(text(width / 2, 26, title, `font-size="${TITLE_FONT}" font-weight="bold" text-anchor="middle"`));

  const countFont = Math.max(8, Math.min(16, Math.floor(cell * 0.3)));
  const showCounts = cell >= 20;
  const showShare = normalize && cell >= countFont * 2 + 14;
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < n; c++) {
      const v = shade(t, c);
      const x = left + c * cell;
      const y = top + t * cell;
      body.push(`<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${blues(v)}" stroke="#ffffff" stroke-width="1"/>`);
      if (!showCounts) continue;
      const color = v > 0.55 ? '#ffffff' : '#111111';
      const count = String(matrix[t]![c]!);
      const cx = x + cell / 2;
      if (showShare) {
        body.push(text(cx, y + cell / 2 - 2, count, `font-size="${countFont}" font-weight="bold" text-anchor="middle" fill="${color}"`));
        body.push(text(cx, y + cell / 2 + countFont, percent(v), `font-size="${Math.max(8, countFont - 3)}" text-anchor="middle" fill="${color}"`));
      } else {
        const f = textWidth(count, countFont) > cell - 4 ? Math.max(7, Math.floor((countFont * (cell - 4)) / textWidth(count, countFont))) : countFont;
        body.push(text(cx, y + cell / 2 + f * 0.35, count, `font-size="${f}" text-anchor="middle" fill="${color}"`));
      }
    }
  }
  body.push(`<rect x="${px(left)}" y="${px(top)}" width="${side}" height="${side}" fill="none" stroke="${AXIS_COLOR}" stroke-width="1"/>`);

  // Class names: rows on the left (true), columns below (predicted).
  for (let i = 0; i < n; i++) {
    const cy = top + i * cell + cell / 2;
    body.push(text(left - 8, cy + labelFont * 0.35, rowLabels[i]!, `font-size="${labelFont}" text-anchor="end"`));
    const cx = left + i * cell + cell / 2;
    if (rotate) {
      const ly = gridBottom + 8 + labelFont * 0.7;
      body.push(text(cx, ly, colLabels[i]!, `font-size="${labelFont}" text-anchor="end" transform="rotate(-45 ${px(cx)} ${px(ly)})"`));
    } else {
      body.push(text(cx, gridBottom + 8 + labelFont, colLabels[i]!, `font-size="${labelFont}" text-anchor="middle"`));
    }
  }
  body.push(text(left + side / 2, gridBottom + 8 + colH + 10 + LABEL_FONT, 'Predicted class', `font-size="${LABEL_FONT}" text-anchor="middle"`));
  const ty = top + side / 2;
  const tx = x0 + 12 + LABEL_FONT * 0.8;
  body.push(text(tx, ty, 'True class', `font-size="${LABEL_FONT}" text-anchor="middle" transform="rotate(-90 ${px(tx)} ${px(ty)})"`));

  // Colour bar as stacked slices rather than a <linearGradient>: no element ids, so
  // several charts inlined in one HTML page cannot clash.
  const bx = left + side + 24;
  const slices = 48;
  const sliceH = side / slices;
  for (let k = 0; k < slices; k++) {
    const t = (slices - 1 - k + 0.5) / slices;
    body.push(`<rect x="${px(bx)}" y="${px(top + k * sliceH)}" width="${barW}" height="${px(sliceH + 0.6)}" fill="${blues(t)}"/>`);
  }
  body.push(`<rect x="${px(bx)}" y="${px(top)}" width="${barW}" height="${side}" fill="none" stroke="${AXIS_COLOR}" stroke-width="1"/>`);
  for (const v of barValues) {
    const y = gridBottom - (v / barMax) * side;
    body.push(`<line x1="${px(bx + barW)}" y1="${px(y)}" x2="${px(bx + barW + 4)}" y2="${px(y)}" stroke="${AXIS_COLOR}"/>`);
    body.push(text(bx + barW + 6, y + 11 * 0.35, barLabel(v), 'font-size="11"'));
  }
  return svgDocument(width, height, title, body);
}
