/**
 * Weight initializers (Keras names and formulas). Random ones draw from the
 * kernels' seeded Philox generator with one stream per tensor, so a model's
 * initial weights depend only on its seed and architecture.
 */
import { ConfigError } from '../errors.js';

export type Initializer =
  | { kind: 'heNormal' }
  | { kind: 'heUniform' }
  | { kind: 'glorotNormal' }
  | { kind: 'glorotUniform' }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number };

export type InitializerName = 'heNormal' | 'heUniform' | 'glorotNormal' | 'glorotUniform' | 'zeros' | 'ones';

export type InitializerArg = InitializerName | Initializer;

export function resolveInitializer(arg: InitializerArg, where: string): Initializer {
  const names: InitializerName[] = ['heNormal', 'heUniform', 'glorotNormal', 'glorotUniform', 'zeros', 'ones'];
  if (typeof arg === 'object' && arg !== null) {
    if (arg.kind === 'constant') {
      if (!Number.isFinite(arg.value)) throw new ConfigError(`${where}: constant initializer needs a finite value, got ${arg.value}`);
      return { kind: 'constant', value: arg.value };
    }
    if (!names.includes(arg.kind)) throw new ConfigError(`${where}: unknown initializer ${JSON.stringify(arg)}`);
    return { kind: arg.kind };
  }
  if (!names.includes(arg)) throw new ConfigError(`${where}: unknown initializer '${String(arg)}', expected one of ${names.join(', ')}`);
  return { kind: arg };
}

/** How to fill a tensor: a random distribution or a constant. */
export type Fill =
  | { dist: 'uniform' | 'normal' | 'truncatedNormal'; a: number; b: number }
  | { dist: 'constant'; value: number };

/**
 * Keras' definitions: He = variance 2/fan_in, Glorot = 2/(fan_in + fan_out);
 * "normal" variants are truncated at 2σ with Keras' correction 0.8796...
 * (the std of a unit normal truncated to [-2, 2]), uniform ones use
 * limit = sqrt(3·variance).
 */
export function fillFor(init: Initializer, fanIn: number, fanOut: number): Fill {
  const truncCorrection = 0.87962566103423978;
  switch (init.kind) {
    case 'heNormal':
      return { dist: 'truncatedNormal', a: 0, b: Math.sqrt(2 / fanIn) / truncCorrection };
    case 'heUniform': {
      const limit = Math.sqrt(6 / fanIn);
      return { dist: 'uniform', a: -limit, b: limit };
    }
    case 'glorotNormal':
      return { dist: 'truncatedNormal', a: 0, b: Math.sqrt(2 / (fanIn + fanOut)) / truncCorrection };
    case 'glorotUniform': {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return { dist: 'uniform', a: -limit, b: limit };
    }
    case 'zeros':
      return { dist: 'constant', value: 0 };
    case 'ones':
      return { dist: 'constant', value: 1 };
    case 'constant':
      return { dist: 'constant', value: init.value };
  }
}
