/**
 * Inputs of an explanation: validated against the model, then run through the
 * executor in chunks that fit its planned batch (so a large input never forces
 * a re-plan of every buffer).
 */
import type { CompiledModel } from '../exec/compiled-model.js';
import { checkInputs, type TensorLike } from '../model/data.js';
import type { Model } from '../model/model.js';

/** Largest chunk planned for explanations (as predict's default batch). */
const CHUNK = 32;

export interface Chunk {
  /** Index of the chunk's first sample in the input. */
  start: number;
  size: number;
  /** The chunk's inputs `[size, h, w, c]` (a view into the caller's data). */
  x: Float32Array;
}

/** Validates `input` (shape `[n, h, w, c]`, finite values) and returns the sample count. */
export function checkExplainInput(model: Model, input: TensorLike, where: string): number {
  return checkInputs(input, model.inputShape, where);
}

/** Calls `fn` on consecutive chunks of `input` (already validated, `n` samples) with the executor planned for them. */
export async function forEachChunk(model: Model, input: TensorLike, n: number, fn: (compiled: CompiledModel, chunk: Chunk) => void): Promise<void> {
  const compiled = await model.ensureCompiled(Math.min(n, CHUNK));
  const per = model.inputSize;
  const step = Math.min(n, compiled.maxBatch);
  for (let start = 0; start < n; start += step) {
    const size = Math.min(step, n - start);
    fn(compiled, { start, size, x: input.data.subarray(start * per, (start + size) * per) });
  }
}
