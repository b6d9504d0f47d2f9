/**
 * Collects the parts of the generated `nn.Module`: the submodules of
 * `__init__`, the lines of `forward`, and the state dict (PyTorch names and
 * layouts) that `load()` reads back.
 */
import type { SafetensorsEntry } from '../../io/safetensors.js';
import { PythonNames } from './python-names.js';

export class ModuleBuilder {
  readonly submodules: string[] = [];
  readonly forward: string[] = [];
  readonly stateDict: SafetensorsEntry[] = [];
  readonly names = new PythonNames();

  /** `self.<attribute> = <constructor>` in `__init__`; returns `self.<attribute>`. */
  submodule(attribute: string, constructor: string): string {
    this.submodules.push(`self.${attribute} = ${constructor}`);
    return `self.${attribute}`;
  }

  /** `<variable> = <expression>` in `forward` (the variable made unique); returns the variable. */
  readonly emit = (variable: string, expression: string): string => {
    const unique = this.names.identifier(variable);
    this.forward.push(`${unique} = ${expression}`);
    return unique;
  };

  float32(key: string, shape: readonly number[], data: Float32Array): void {
    this.stateDict.push({ name: key, dtype: 'F32', shape, data });
  }

  /** BatchNorm's `num_batches_tracked` (an int64 scalar in PyTorch's state dict). */
  int64Scalar(key: string, value: bigint): void {
    this.stateDict.push({ name: key, dtype: 'I64', shape: [], data: new BigInt64Array([value]) });
  }
}
