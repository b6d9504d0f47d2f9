/** How config.json and the console name an L2 penalty: which definition and what it adds to the loss (§7). */
import type { L2Regularizer } from '@lite-cnn/sdk';

export function describeRegularizer(r: L2Regularizer): string {
  return r.form === 'keras' ? `Keras l2(${r.lambda}): ${r.lambda}·ΣW²` : `study L2 (${r.lambda}): ${r.lambda}/(2·batch)·ΣW²`;
}
