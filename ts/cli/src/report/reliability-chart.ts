/**
 * The reliability diagram of a classifier's probabilities: for each
 * confidence bin, the share of right predictions against the mean confidence
 * (calibrationMetrics' bins), with the diagonal a calibrated model follows.
 */
import type { CalibrationMetrics } from '@lite-cnn/sdk';
import { lineChart, type LineSeries } from './line-chart.js';

/** Non-empty bins as [mean confidence, accuracy] points. */
function binPoints(m: CalibrationMetrics): [number, number][] {
  return m.reliability.filter((b) => b.samples > 0).map((b) => [b.confidence, b.accuracy]);
}

/** `uncalibrated`: the network's own outputs, drawn beside a stored calibration's. */
export function reliabilityChart(calibrated: CalibrationMetrics, uncalibrated?: CalibrationMetrics): string {
  const series: LineSeries[] = [
    { name: uncalibrated ? 'calibrated probabilities' : 'model', points: binPoints(calibrated), markers: true },
    ...(uncalibrated ? [{ name: "the network's own outputs", points: binPoints(uncalibrated), markers: true }] : []),
    { name: 'perfectly calibrated', points: [[0, 0], [1, 1]], dashed: true, markers: false, color: '#888888' },
  ];
  return lineChart({
    title: `Reliability diagram (${calibrated.reliability.length} confidence bins)`,
    xLabel: 'confidence (probability of the predicted class)',
    yLabel: 'accuracy',
    series,
    xRange: [0, 1],
    yRange: [0, 1],
  });
}
