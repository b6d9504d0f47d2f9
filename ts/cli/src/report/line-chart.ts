/** Line chart as an SVG string: learning curves (loss, accuracy, learning rate) over epochs. */
import { BOTTOM_MARGIN, TITLE_FONT, axes, leftMargin } from './axes.js';
import {
  CHART_HEIGHT,
  CHART_WIDTH,
  legendRows,
  niceTicks,
  paletteColor,
  px,
  scale,
  svgDocument,
  text,
  type LegendEntry,
} from './svg.js';

export interface LineSeries {
  /** Legend label; escaped, so any text is safe. */
  name: string;
  /** [x, y] pairs in drawing order. Non-finite values (a NaN loss) are skipped and break the line there. */
  points: readonly (readonly [number, number])[];
  /** Default: the palette colour of the series' index, so series keep their colour across charts. */
  color?: string;
  /** Dashed and thinner, for secondary series such as mid-epoch evaluations. Default false. */
  dashed?: boolean;
  /**
   * Draw a dot at each point. Default: when the series has at most 40 finite
   * points, so a one-epoch run (a single point per series) is still visible.
   */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** The y axis covers at least this range (e.g. [0, 1] for accuracy), widened to whole ticks and to any data outside it. */
  yRange?: readonly [number, number];
  /** As `yRange`, for x. */
  xRange?: readonly [number, number];
  width?: number;
  height?: number;
}

const MARKER_LIMIT = 40;

function finitePoint(p: readonly [number, number]): boolean {
  return Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

function extent(values: number[], range: readonly [number, number] | undefined): [number, number] {
  let lo = range ? Math.min(range[0], range[1]) : Infinity;
  let hi = range ? Math.max(range[0], range[1]) : -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A line chart with a title, axes with round ticks, a grid and a legend above the plot (never over the data). */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? CHART_WIDTH;
  const height = options.height ?? CHART_HEIGHT;
  const series = options.series.map((s, i) => ({
    ...s,
    color: s.color ?? paletteColor(i),
    finite: s.points.filter(finitePoint),
  }));
  const all = series.flatMap((s) => s.finite);
  const xTicks = niceTicks(...extent(all.map((p) => p[0]), options.xRange), 6);
  const yTicks = niceTicks(...extent(all.map((p) => p[1]), options.yRange), 5);

  const left = leftMargin(yTicks);
  const right = width - 20;
  const entries: LegendEntry[] = series.map((s) => ({ label: s.name, color: s.color, kind: s.dashed ? 'dashed' : 'line' }));
  // Legend rows (20 px each) under the title, then the plot: a legend inside the plot could hide data.
  const legend = legendRows(entries, left, 50, right - left);
  const top = legend.height > 0 ? 44 + legend.height : 40;
  const bottom = height - BOTTOM_MARGIN;
  const rect = { left, top, right, bottom };
  // Data keep a few pixels off the frame, so points at the range ends (the
  // last epoch, an accuracy of 1) are not drawn on top of the frame line.
  const pad = 8;
  const sx = scale(xTicks.min, xTicks.max, left + pad, right - pad);
  const sy = scale(yTicks.min, yTicks.max, bottom - pad, top + pad);

  const body: string[] = [];
  body.push(text(width / 2, 24, options.title, `font-size="${TITLE_FONT}" font-weight="bold" text-anchor="middle"`));
  body.push(...legend.svg);
  body.push(...axes(rect, xTicks, yTicks, sx, sy, options.xLabel, options.yLabel));
  for (const s of series) {
    const d: string[] = [];
    let pen = false;
    for (const p of s.points) {
      if (!finitePoint(p)) {
        pen = false;
        continue;
      }
      d.push(`${pen ? 'L' : 'M'}${px(sx(p[0]))} ${px(sy(p[1]))}`);
      pen = true;
    }
    if (d.length > 1) {
      body.push(
        `<path d="${d.join(' ')}" fill="none" stroke="${s.color}" stroke-width="${s.dashed ? 1.5 : 2.25}" ` +
          `stroke-linejoin="round" stroke-linecap="round"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      );
    }
    if (s.markers ?? s.finite.length <= MARKER_LIMIT) {
      const r = s.dashed ? 2.5 : 3.5;
      for (const p of s.finite) {
        body.push(
          `<circle cx="${px(sx(p[0]))}" cy="${px(sy(p[1]))}" r="${r}" fill="${s.color}" stroke="#ffffff" stroke-width="1"/>`,
        );
      }
    }
  }
  return svgDocument(width, height, options.title, body);
}
