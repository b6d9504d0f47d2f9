/** Cartesian axes shared by the line and ROC charts: grid, ticks, tick labels, axis titles, frame. */
import { AXIS_COLOR, GRID_COLOR, formatTick, px, text, textWidth, type Ticks } from './svg.js';

export interface PlotRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export const TICK_FONT = 11;
export const LABEL_FONT = 13;
export const TITLE_FONT = 16;

/** Width the y tick labels need, to size the left margin before drawing. */
export function yTickLabelWidth(ticks: Ticks): number {
  return Math.max(...ticks.values.map((v) => textWidth(formatTick(v, ticks.decimals), TICK_FONT)));
}

/** Left margin that fits the rotated y title, the tick labels and the tick marks. */
export function leftMargin(ticks: Ticks): number {
  return 12 + LABEL_FONT + 10 + yTickLabelWidth(ticks) + 8;
}

/** Space below the plot for x tick labels and the x title. */
export const BOTTOM_MARGIN = 20 + TICK_FONT + 10 + LABEL_FONT;

export function axes(
  rect: PlotRect,
  xTicks: Ticks,
  yTicks: Ticks,
  sx: (v: number) => number,
  sy: (v: number) => number,
  xLabel: string,
  yLabel: string,
): string[] {
  const out: string[] = [];
  const { left, top, right, bottom } = rect;
  // Grid first so data and frame draw over it.
  for (const v of xTicks.values) {
    const x = px(sx(v));
    out.push(`<line x1="${x}" y1="${px(top)}" x2="${x}" y2="${px(bottom)}" stroke="${GRID_COLOR}" stroke-width="1"/>`);
  }
  for (const v of yTicks.values) {
    const y = px(sy(v));
    out.push(`<line x1="${px(left)}" y1="${y}" x2="${px(right)}" y2="${y}" stroke="${GRID_COLOR}" stroke-width="1"/>`);
  }
  out.push(
    `<rect x="${px(left)}" y="${px(top)}" width="${px(right - left)}" height="${px(bottom - top)}" fill="none" stroke="${AXIS_COLOR}" stroke-width="1"/>`,
  );
  for (const v of xTicks.values) {
    const x = sx(v);
    out.push(`<line x1="${px(x)}" y1="${px(bottom)}" x2="${px(x)}" y2="${px(bottom + 5)}" stroke="${AXIS_COLOR}"/>`);
    out.push(text(x, bottom + 7 + TICK_FONT, formatTick(v, xTicks.decimals), `font-size="${TICK_FONT}" text-anchor="middle"`));
  }
  for (const v of yTicks.values) {
    const y = sy(v);
    out.push(`<line x1="${px(left - 5)}" y1="${px(y)}" x2="${px(left)}" y2="${px(y)}" stroke="${AXIS_COLOR}"/>`);
    // Baseline nudged by ~1/3 em so the label's middle sits on the tick (dominant-baseline is unevenly supported).
    out.push(text(left - 8, y + TICK_FONT * 0.35, formatTick(v, yTicks.decimals), `font-size="${TICK_FONT}" text-anchor="end"`));
  }
  out.push(text((left + right) / 2, bottom + 20 + TICK_FONT + 10, xLabel, `font-size="${LABEL_FONT}" text-anchor="middle"`));
  const yx = 12 + LABEL_FONT * 0.8;
  const yy = (top + bottom) / 2;
  out.push(
    text(yx, yy, yLabel, `font-size="${LABEL_FONT}" text-anchor="middle" transform="rotate(-90 ${px(yx)} ${px(yy)})"`),
  );
  return out;
}
