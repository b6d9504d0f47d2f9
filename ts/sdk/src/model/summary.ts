/** Keras-style `model.summary()` table. */
import type { AnyLayer } from '../layers/config.js';
import { describeRegularizer } from '../layers/regularizers.js';
import { formatShape } from '../layers/shape.js';
import type { ModelPlan } from './plan.js';

export interface ParamCounts {
  trainable: number;
  nonTrainable: number;
  total: number;
}

/** Counts by the tensors' own trainability and their layers' current `trainable` flag (Keras' counts). */
export function countParams(plan: ModelPlan, layers: readonly AnyLayer[]): ParamCounts {
  let trainable = 0;
  let nonTrainable = 0;
  for (const t of plan.tensors) {
    if (t.trainable && layers[t.layer]!.trainable) trainable += t.size;
    else nonTrainable += t.size;
  }
  return { trainable, nonTrainable, total: trainable + nonTrainable };
}

export function renderSummary(name: string, layers: readonly AnyLayer[], plan: ModelPlan): string {
  const rows = layers.map((layer, i) => {
    const params = plan.tensors.filter((t) => t.layer === i).reduce((s, t) => s + t.size, 0);
    return [`${layer.name} (${layer.kind})`, formatShape(plan.shapes[i]!, 'None'), params.toLocaleString('en-US')];
  });
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)) + 2);
  const line = (cells: string[]) => cells.map((cell, c) => (c === 2 ? cell.padStart(widths[c]! - 2) : cell.padEnd(widths[c]!))).join('');
  const rule = (ch: string) => ch.repeat(widths.reduce((a, b) => a + b, 0));
  const counts = countParams(plan, layers);
  const out = [
    `Model: "${name}"`,
    rule('─'),
    line(header),
    rule('═'),
    ...rows.flatMap((r, i) => (i === 0 ? [line(r)] : [rule('─'), line(r)])),
    rule('═'),
    `Input shape: ${formatShape(plan.input, 'None')}`,
    `Total params: ${counts.total.toLocaleString('en-US')}`,
    `Trainable params: ${counts.trainable.toLocaleString('en-US')}`,
    `Non-trainable params: ${counts.nonTrainable.toLocaleString('en-US')}`,
  ];
  if (plan.regularizer) out.push(`Kernel regularizer: ${describeRegularizer(plan.regularizer)}`);
  return out.join('\n');
}
