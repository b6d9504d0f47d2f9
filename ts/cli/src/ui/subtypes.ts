/** Per-subtype recall as aligned text lines. */
import type { SubtypeRecall } from '@lite-cnn/sdk';
import { percent } from './format.js';

export function formatSubtypes(rows: readonly SubtypeRecall[], classNames: readonly string[] | null): string[] {
  const w = Math.max(7, ...rows.map((r) => r.subtype.length));
  return rows.map((r) => `  ${r.subtype.padEnd(w)} ${(classNames?.[r.label] ?? String(r.label)).padEnd(10)} ${percent(r.recall).padStart(7)}  (${r.correct}/${r.images})`);
}
