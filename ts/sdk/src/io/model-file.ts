/**
 * The lite-cnn model file: one `.safetensors` file. Tensors are named like
 * `layers.0.kernel`; `__metadata__` holds the format name and version, the
 * topology (layer configs), class names, preprocessing and decision
 * threshold, and, when asked, the optimizer configuration. Optimizer state
 * (moments, step) is stored as tensors `optimizer.slot1`/`optimizer.slot2`.
 * Loading never executes anything from the file (unlike pickle).
 */
import { ModelFormatError } from '../errors.js';
import type { LayerConfig } from '../layers/config.js';
import type { LossConfig } from '../model/losses.js';
import { checkMetadata, type ModelMetadata } from '../model/metadata.js';
import type { OptimizerConfig } from '../model/optimizers.js';
import { parseJsonWithoutDuplicates } from './json-duplicates.js';
import { resolveLoadLimits, type LoadLimits } from './load-limits.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from './safetensors.js';

export const MODEL_FORMAT = 'lite-cnn';
/** Written: 2 (graphs, trainable flags). Read: 1 (Sequential chains) and 2. */
export const MODEL_FORMAT_VERSION = '2';
const READABLE_VERSIONS = ['1', '2'];

export interface Topology {
  name: string;
  seed: number;
  /** Layer configs in topological order. */
  layers: LayerConfig[];
  /** Version 2: per layer, the layers it reads (-1: the model input). Absent: a chain. */
  inbound?: number[][];
  /** Version 2: the model's per-sample input shape. Absent: the first layer's `inputShape`. */
  inputShape?: [number, number, number];
  /** Version 2: per layer, Keras' `trainable`. Absent: all trainable. */
  trainable?: boolean[];
}

function checkTopology(t: Topology, name: string): Topology {
  const bad = (what: string) => new ModelFormatError(`${name}: topology: ${what}`);
  const n = t.layers.length;
  if (t.inbound !== undefined) {
    if (!Array.isArray(t.inbound) || t.inbound.length !== n) throw bad(`inbound must list the inputs of each of the ${n} layers`);
    t.inbound.forEach((reads, i) => {
      if (!Array.isArray(reads) || reads.length === 0 || reads.some((j) => !Number.isInteger(j) || j < -1 || j >= i)) {
        throw bad(`layer ${i} must read earlier layers or the input (-1), got ${JSON.stringify(reads)}`);
      }
    });
  }
  if (t.inputShape !== undefined && !(Array.isArray(t.inputShape) && t.inputShape.length === 3 && t.inputShape.every((d) => Number.isInteger(d) && d >= 1))) {
    throw bad(`inputShape must be 3 positive integers, got ${JSON.stringify(t.inputShape)}`);
  }
  if (t.trainable !== undefined && !(Array.isArray(t.trainable) && t.trainable.length === n && t.trainable.every((f) => typeof f === 'boolean'))) {
    throw bad(`trainable must be ${n} booleans`);
  }
  return t;
}

export interface SavedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SavedTraining {
  optimizer: OptimizerConfig;
  loss: LossConfig;
  /** Present when the optimizer state was saved (for resuming). */
  state: { slot1: Float32Array; slot2: Float32Array; step: number } | null;
}

export interface ModelFileContents {
  topology: Topology;
  metadata: ModelMetadata;
  weights: SavedWeight[];
  training: SavedTraining | null;
}

export function encodeModelFile(c: ModelFileContents): Uint8Array {
  const tensors: SafetensorsEntry[] = c.weights.map((w) => ({ name: w.name, dtype: 'F32', shape: w.shape, data: w.data }));
  const meta: Record<string, string> = {
    format: MODEL_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    topology: JSON.stringify(c.topology),
    metadata: JSON.stringify(c.metadata),
  };
  if (c.training) {
    meta.training = JSON.stringify({ optimizer: c.training.optimizer, loss: c.training.loss, step: c.training.state?.step ?? null });
    if (c.training.state) {
      tensors.push({ name: 'optimizer.slot1', dtype: 'F32', shape: [c.training.state.slot1.length], data: c.training.state.slot1 });
      tensors.push({ name: 'optimizer.slot2', dtype: 'F32', shape: [c.training.state.slot2.length], data: c.training.state.slot2 });
    }
  }
  return encodeSafetensors(tensors, meta);
}

export interface DecodeModelOptions {
  /** Bounds on the loading work (defaults: DEFAULT_LOAD_LIMITS). */
  limits?: Partial<LoadLimits>;
  /** Accept NaN or ±Infinity in weights and optimizer state (default false: such a model cannot predict anything). */
  allowNonFinite?: boolean;
}

/** A JSON entry of `__metadata__`, parsed; a key given twice is an error (JSON.parse would keep the last silently). */
function parseJson<T>(text: string | undefined, what: string, name: string): T {
  if (text === undefined) throw new ModelFormatError(`${name}: __metadata__ has no '${what}' entry`);
  return parseJsonWithoutDuplicates(text, name, `__metadata__ ${what}`) as T;
}

/** The first non-finite value of a tensor, as a ModelFormatError, unless every value is finite. */
function checkFiniteTensor(name: string, tensor: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new ModelFormatError(`${name}: tensor '${tensor}' holds ${data[i]} at index ${i}; expected finite values (load with allowNonFinite: true to inspect such a file)`);
    }
  }
}

/**
 * Decodes and checks the container and its metadata. The weights are checked
 * against the topology by the model that loads them (names, shapes, no extras).
 */
export function decodeModelFile(bytes: Uint8Array, name = 'model file', options: DecodeModelOptions = {}): ModelFileContents {
  const limits = resolveLoadLimits(options.limits);
  const file = decodeSafetensors(bytes, { name, maxHeaderBytes: limits.maxHeaderBytes, maxTensors: limits.maxTensors, maxMetadataKeys: limits.maxMetadataKeys });
  const meta = file.metadata;
  if (meta.format !== MODEL_FORMAT) {
    throw new ModelFormatError(`${name}: not a lite-cnn model (format '${meta.format ?? '(none)'}', expected '${MODEL_FORMAT}')`);
  }
  if (!READABLE_VERSIONS.includes(meta.format_version ?? '')) {
    throw new ModelFormatError(`${name}: unknown model format version '${meta.format_version ?? '(none)'}'; this lite-cnn reads versions ${READABLE_VERSIONS.join(' and ')}`);
  }
  const topology = parseJson<Topology>(meta.topology, 'topology', name);
  if (typeof topology !== 'object' || topology === null || !Array.isArray(topology.layers) || typeof topology.name !== 'string' || !Number.isSafeInteger(topology.seed)) {
    throw new ModelFormatError(`${name}: topology must be { name, seed, layers: [...] }`);
  }
  checkTopology(topology, name);
  const metadata = checkMetadata(parseJson<unknown>(meta.metadata, 'metadata', name), `${name}: __metadata__ metadata`);
  const weights: SavedWeight[] = [];
  let slot1: Float32Array | undefined;
  let slot2: Float32Array | undefined;
  for (const [tname, t] of file.tensors) {
    if (t.dtype !== 'F32') throw new ModelFormatError(`${name}: tensor '${tname}' has dtype ${t.dtype}, expected F32`);
    if (!options.allowNonFinite) checkFiniteTensor(name, tname, t.data);
    if (tname === 'optimizer.slot1') slot1 = t.data;
    else if (tname === 'optimizer.slot2') slot2 = t.data;
    else weights.push({ name: tname, shape: t.shape, data: t.data });
  }
  let training: SavedTraining | null = null;
  if (meta.training !== undefined) {
    const tr = parseJson<{ optimizer: OptimizerConfig; loss: LossConfig; step: number | null }>(meta.training, 'training', name);
    if (typeof tr !== 'object' || tr === null || typeof tr.optimizer !== 'object' || typeof tr.loss !== 'object') {
      throw new ModelFormatError(`${name}: training must be { optimizer, loss, step }`);
    }
    const hasState = slot1 !== undefined || slot2 !== undefined || tr.step !== null;
    if (hasState && !(slot1 && slot2 && Number.isSafeInteger(tr.step) && tr.step! >= 0)) {
      throw new ModelFormatError(`${name}: optimizer state needs optimizer.slot1, optimizer.slot2 and a step count`);
    }
    training = { optimizer: tr.optimizer, loss: tr.loss, state: hasState ? { slot1: slot1!, slot2: slot2!, step: tr.step! } : null };
  } else if (slot1 || slot2) {
    throw new ModelFormatError(`${name}: optimizer tensors without a training configuration`);
  }
  return { topology, metadata, weights, training };
}
