/**
 * How much work a model file may ask of the loader. A model file may come from
 * anywhere: a few kilobytes can declare a 1000x1000 input (and make the engine
 * grow its memory by a gigabyte, which wasm never gives back) or a header with
 * millions of keys. Every limit is checked before the work it bounds: the
 * header size before it is parsed, the key and tensor counts before any tensor
 * is decoded, the input size and the planned memory before the engine
 * allocates anything. The defaults are far above what lite-cnn's small CNNs
 * need; raise them per call (`Sequential.load(path, { limits })`) for larger ones.
 */
import { ConfigError, ModelFormatError } from '../errors.js';
import type { Shape3 } from '../layers/shape.js';
import { shapeSize } from '../layers/shape.js';

export interface LoadLimits {
  /** Largest JSON header, bytes (checked before it is decoded). */
  maxHeaderBytes: number;
  /** Most `__metadata__` entries. */
  maxMetadataKeys: number;
  /** Most tensors in the file. */
  maxTensors: number;
  /** Largest per-sample input, values (h·w·c). */
  maxInputValues: number;
  /** Largest engine memory the model may plan when loaded (weights, optimizer slots, activations), bytes. */
  maxPlannedBytes: number;
}

export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze({
  maxHeaderBytes: 4 * 1024 * 1024,
  maxMetadataKeys: 1024,
  maxTensors: 4096,
  maxInputValues: 4096 * 4096 * 3,
  maxPlannedBytes: 512 * 1024 * 1024,
});

/** The defaults with `overrides` applied; every given value must be a positive safe integer. */
export function resolveLoadLimits(overrides: Partial<LoadLimits> = {}): LoadLimits {
  const out = { ...DEFAULT_LOAD_LIMITS };
  for (const [key, value] of Object.entries(overrides) as [keyof LoadLimits, unknown][]) {
    if (!(key in DEFAULT_LOAD_LIMITS)) throw new ConfigError(`load limits: unknown limit '${key}'; expected one of ${Object.keys(DEFAULT_LOAD_LIMITS).join(', ')}`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new ConfigError(`load limits: ${key} must be a positive integer, got ${String(value)}`);
    out[key] = value as number;
  }
  return out;
}

/** What `planModel` gives that the estimate needs (a ModelPlan fits). */
export interface PlannedShapes {
  input: Shape3;
  /** Output shape of each layer. */
  shapes: readonly Shape3[];
  /** Values of each weight and state tensor. */
  tensors: readonly { size: number }[];
}

/**
 * A lower bound of the engine memory a model plans for batches of `batch`, in
 * bytes: weights, their gradients and two optimizer slots (4x the tensors), the
 * input and every layer's output per sample, and the executor's three
 * gradient buffers of the largest activation. Scratch space (im2col) comes on
 * top, so a model this rejects would certainly need more.
 */
export function plannedBytes(plan: PlannedShapes, batch: number): number {
  const weights = plan.tensors.reduce((a, t) => a + t.size, 0);
  let perSample = shapeSize(plan.input);
  let largest = perSample;
  for (const s of plan.shapes) {
    const size = shapeSize(s);
    perSample += size;
    largest = Math.max(largest, size);
  }
  return 4 * (4 * weights + batch * (perSample + 3 * largest));
}

/** Checks a planned model's input size and memory against the limits before the engine allocates anything. */
export function checkPlanBudget(plan: PlannedShapes, batch: number, limits: LoadLimits, where: string): void {
  const input = shapeSize(plan.input);
  if (input > limits.maxInputValues) {
    throw new ModelFormatError(
      `${where}: input shape [${plan.input.join(', ')}] has ${input} values per sample, above the limit of ${limits.maxInputValues} (load limit maxInputValues)`,
    );
  }
  const bytes = plannedBytes(plan, batch);
  if (bytes > limits.maxPlannedBytes) {
    const mb = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
    throw new ModelFormatError(
      `${where}: the model needs at least ${mb(bytes)} of engine memory at batch ${batch}, above the limit of ${mb(limits.maxPlannedBytes)} (load limit maxPlannedBytes)`,
    );
  }
}
