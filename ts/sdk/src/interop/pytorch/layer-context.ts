/**
 * What a layer's PyTorch translation gets: its layer, the values it reads,
 * and its own Python identifier, under which it registers its submodule, its
 * state-dict tensors and its output variable.
 */
import type { LayerConfig } from '../../layers/config.js';
import type { Shape3 } from '../../layers/shape.js';
import type { ExportedLayer } from '../exported-model.js';
import type { ModuleBuilder } from './module-builder.js';
import { TorchValue, type TorchLayout } from './values.js';

export class TorchLayerContext<C extends LayerConfig = LayerConfig> {
  /** The layer's name as a Python identifier (submodule and output variable). */
  readonly id: string;

  constructor(
    readonly layer: ExportedLayer<C>,
    readonly inputs: readonly TorchValue[],
    readonly module: ModuleBuilder,
  ) {
    this.id = module.names.identifier(layer.config.name);
  }

  get input(): TorchValue {
    return this.inputs[0]!;
  }

  /** Registers the layer's submodule; returns `self.<id>`. */
  submodule(constructor: string): string {
    return this.module.submodule(this.id, constructor);
  }

  /** A state-dict tensor of the layer's submodule (`<id>.weight`, ...). */
  tensor(suffix: string, shape: readonly number[], data: Float32Array): void {
    this.module.float32(`${this.id}.${suffix}`, shape, data);
  }

  /** `<id> = <expression>` in forward, as the layer's output. */
  output(expression: string, layout: TorchLayout, flattenedFrom: Shape3 | null = null): TorchValue {
    this.module.forward.push(`${this.id} = ${expression}`);
    return new TorchValue(this.module.emit, this.layer.outputShape, layout, this.id, flattenedFrom);
  }
}

/** One row of the PyTorch table: a layer kind and its submodule, tensors and forward line. */
export type TorchLayerExporter<C extends LayerConfig> = (ctx: TorchLayerContext<C>) => TorchValue;
