/**
 * Model topologies as data: the layer configs of a preset or of an
 * `arch.json`, with the command line's overrides (input shape, L2) applied,
 * turned into layers by the SDK's `layerFromConfig` (which validates them).
 *
 * arch.json is either a list of layer configs (as `layer.getConfig()` writes
 * them; `inputShape` on the first) or `{ "name"?, "inputShape"?, "layers": [...] }`.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, l2, layerFromConfig, Sequential, studyL2, type AnyLayer, type Engine, type L2Regularizer, type LayerConfig } from '@lite-cnn/sdk';

export interface Architecture {
  name: string;
  layers: LayerConfig[];
}

export async function readArchitecture(path: string): Promise<Architecture> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read the architecture file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${path}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const doc = Array.isArray(json) ? { layers: json } : json;
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { layers?: unknown }).layers)) {
    throw new ConfigError(`${path}: expected a list of layer configs or { "inputShape": [h, w, c], "layers": [...] }`);
  }
  const { name, inputShape, layers } = doc as { name?: unknown; inputShape?: unknown; layers: unknown[] };
  if (layers.length === 0) throw new ConfigError(`${path}: the model has no layers`);
  layers.forEach((l, i) => {
    if (typeof l !== 'object' || l === null || typeof (l as { kind?: unknown }).kind !== 'string') {
      throw new ConfigError(`${path}: layer ${i}: expected a layer config object with a "kind" (e.g. "Conv2D"), got ${JSON.stringify(l)}`);
    }
  });
  // Configs from getConfig() are complete; hand-written ones may omit the common fields.
  const configs = layers.map((l) => ({ name: '', inputShape: null, ...(l as object) }) as LayerConfig);
  if (inputShape !== undefined) {
    if (!Array.isArray(inputShape)) throw new ConfigError(`${path}: inputShape must be a list like [28, 28, 1], got ${JSON.stringify(inputShape)}`);
    configs[0] = { ...configs[0]!, inputShape: inputShape as [number, number, number] };
  }
  return { name: typeof name === 'string' && name !== '' ? name : 'model', layers: configs };
}

/** The configs of a list of layers (for presets). */
export function architectureOf(name: string, layers: readonly AnyLayer[]): Architecture {
  return { name, layers: layers.map((l) => l.getConfig()) };
}

export function regularizer(spec: { lambda: number; form: 'keras' | 'study' } | null): L2Regularizer | null {
  if (spec === null || spec.lambda === 0) return null;
  return spec.form === 'keras' ? l2(spec.lambda) : studyL2(spec.lambda);
}

/** Sets (or, with null, removes) the kernel regularizer of every Conv2D and Dense layer. */
export function withKernelRegularizer(arch: Architecture, reg: L2Regularizer | null): Architecture {
  return {
    ...arch,
    layers: arch.layers.map((c) => (c.kind === 'Conv2D' || c.kind === 'Dense' ? { ...c, kernelRegularizer: reg } : c)),
  };
}

/** Builds the model; invalid configs become ConfigErrors naming the layer. */
export function buildModel(arch: Architecture, opts: { seed: number; engine: Engine; where: string }): Sequential {
  const layers = arch.layers.map((config, i) => {
    try {
      return layerFromConfig(config);
    } catch (cause) {
      throw new ConfigError(`${opts.where}: layer ${i} (${config.kind}): ${(cause as Error).message}`, { cause });
    }
  });
  const model = new Sequential(layers, { name: arch.name, seed: opts.seed, engine: opts.engine });
  model.plan(); // validates shapes now, before any data is loaded
  return model;
}
