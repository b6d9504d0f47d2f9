/**
 * What a layer exporter gets: its layer (config, shapes, weights), the ONNX
 * values it reads, and the graph being built; it returns its output value.
 */
import type { LayerConfig } from '../../../layers/config.js';
import type { ExportedLayer } from '../../exported-model.js';
import type { GraphBuilder } from './graph-builder.js';
import { OnnxValue, type Layout } from './values.js';

export class LayerContext<C extends LayerConfig = LayerConfig> {
  constructor(
    readonly layer: ExportedLayer<C>,
    readonly inputs: readonly OnnxValue[],
    readonly builder: GraphBuilder,
  ) {}

  get name(): string {
    return this.layer.config.name;
  }

  get input(): OnnxValue {
    return this.inputs[0]!;
  }

  /** A tensor of this layer's, in `layout`, with the layer's output shape. */
  output(tensor: string, layout: Layout): OnnxValue {
    return new OnnxValue(this.builder, this.name, this.layer.outputShape, layout, tensor);
  }

  /** Adds a node named after the layer (`conv2d`, `conv2d_1` for a second node, ...). */
  node(opType: string, inputs: readonly string[], attributes?: Parameters<GraphBuilder['node']>[1]['attributes']): string {
    return this.builder.node(opType, { name: this.name, inputs, ...(attributes ? { attributes } : {}) });
  }
}

/** One row of the exporter table: a layer kind and the ONNX nodes it becomes. */
export type LayerExporter<C extends LayerConfig> = (ctx: LayerContext<C>) => OnnxValue;
