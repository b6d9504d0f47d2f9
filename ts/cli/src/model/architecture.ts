/**
 * Model topologies as data: the layer configs of a preset or of an
 * `arch.json`, with the command line's overrides (input shape, L2) applied,
 * turned into layers by the SDK's `layerFromConfig` (which validates them).
 *
 * arch.json is either a list of layer configs (as `layer.getConfig()` writes
 * them; `inputShape` on the first), or `{ "name"?, "inputShape"?, "layers":
 * [...], "inbound"? }` as `model.getConfig()` writes it: `inbound[i]` lists
 * the layers layer i reads (-1: the input), which makes it a graph (residual
 * and branching networks); without it the layers form a chain.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, l2, layerFromConfig, Model, Sequential, studyL2, type AnyLayer, type Engine, type L2Regularizer, type LayerConfig } from '@lite-cnn/sdk';

export interface Architecture {
  name: string;
  layers: LayerConfig[];
  /** Per layer, the layers it reads (-1: the input); absent: a chain. */
  inbound?: number[][];
  inputShape?: [number, number, number];
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
  const { name, inputShape, layers, inbound } = doc as { name?: unknown; inputShape?: unknown; layers: unknown[]; inbound?: unknown };
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
  const arch: Architecture = { name: typeof name === 'string' && name !== '' ? name : 'model', layers: configs };
  if (inbound !== undefined) {
    if (!Array.isArray(inbound) || inbound.length !== layers.length || !inbound.every((r) => Array.isArray(r) && r.length > 0 && r.every(Number.isInteger))) {
      throw new ConfigError(`${path}: inbound must list, for each of the ${layers.length} layers, the indices of the layers it reads (-1: the input), got ${JSON.stringify(inbound)}`);
    }
    arch.inbound = inbound as number[][];
    if (Array.isArray(inputShape)) arch.inputShape = inputShape as [number, number, number];
  }
  return arch;
}

/** The architecture of a chain of layers or of a model (for presets). */
export function architectureOf(name: string, source: readonly AnyLayer[] | Model): Architecture {
  if (source instanceof Model) {
    const c = source.getConfig();
    return { name, layers: c.layers, ...(c.inbound ? { inbound: c.inbound } : {}), ...(c.inputShape ? { inputShape: c.inputShape } : {}) };
  }
  return { name, layers: source.map((l) => l.getConfig()) };
}

export function regularizer(spec: { lambda: number; form: 'keras' | 'study' } | null): L2Regularizer | null {
  if (spec === null || spec.lambda === 0) return null;
  return spec.form === 'keras' ? l2(spec.lambda) : studyL2(spec.lambda);
}

/** Sets (or, with null, removes) the kernel regularizer of every Conv2D, DepthwiseConv2D and Dense layer. */
export function withKernelRegularizer(arch: Architecture, reg: L2Regularizer | null): Architecture {
  return {
    ...arch,
    layers: arch.layers.map((c) => (c.kind === 'Conv2D' || c.kind === 'Dense' || c.kind === 'DepthwiseConv2D' ? { ...c, kernelRegularizer: reg } : c)),
  };
}

/** Builds the model (a Sequential for a chain, a graph Model with `inbound`); invalid configs become ConfigErrors naming the layer. */
export function buildModel(arch: Architecture, opts: { seed: number; engine: Engine; where: string }): Model {
  const options = { name: arch.name, seed: opts.seed, engine: opts.engine };
  let model: Model;
  if (arch.inbound) {
    try {
      model = Model.fromConfig({ name: arch.name, seed: opts.seed, layers: arch.layers, inbound: arch.inbound, ...(arch.inputShape ? { inputShape: arch.inputShape } : {}) }, options);
    } catch (cause) {
      throw new ConfigError(`${opts.where}: ${(cause as Error).message}`, { cause });
    }
  } else {
    const layers = arch.layers.map((config, i) => {
      try {
        return layerFromConfig(config);
      } catch (cause) {
        throw new ConfigError(`${opts.where}: layer ${i} (${config.kind}): ${(cause as Error).message}`, { cause });
      }
    });
    model = new Sequential(layers, options);
  }
  model.plan(); // validates shapes now, before any data is loaded
  return model;
}
