/**
 * `Sequential`: a stack of layers, Keras' simplest model. A chain-building
 * front of `Model`: the same planning, training, inference and save path.
 */
import { ConfigError, ModelFormatError, ShapeError } from '../errors.js';
import type { AnyLayer } from '../layers/config.js';
import type { DecodeModelOptions } from '../io/model-file.js';
import type { Engine } from '../runtime/engine.js';
import { nameLayer } from './graph.js';
import { Model, type ModelOptions } from './model.js';
import type { ModelGraph } from './plan.js';

export type SequentialOptions = ModelOptions;

export class Sequential extends Model {
  private readonly chain: AnyLayer[] = [];
  private chainGraph: ModelGraph | undefined;

  constructor(layers: readonly AnyLayer[] = [], options: SequentialOptions = {}) {
    super(options, 'sequential');
    for (const l of layers) this.add(l);
  }

  /** Appends a layer (names it `<kind>_<n>` when unnamed). */
  add(layer: AnyLayer): this {
    if (this.built) throw new ConfigError(`Sequential '${this.name}': cannot add layers after the model was built`);
    nameLayer(layer, new Set(this.chain.map((l) => l.name)), `Sequential '${this.name}'`);
    this.chain.push(layer);
    this.chainGraph = undefined;
    this.invalidatePlan();
    return this;
  }

  /** The chain: each layer reads the previous one; the first layer's `inputShape` is the model's. */
  protected override graph(): ModelGraph {
    if (!this.chainGraph) {
      const input = this.chain[0]?.getConfig().inputShape;
      if (!input) throw new ShapeError(`Sequential '${this.name}': the first layer needs an inputShape (e.g. inputShape: [28, 28, 1])`);
      this.chainGraph = { input, nodes: this.chain.map((layer, i) => ({ layer, inputs: [i - 1] })) };
    }
    return this.chainGraph;
  }

  /** Rebuilds a Sequential from a model file whose layers form a chain. */
  static override async fromBytes(bytes: Uint8Array, opts: { engine?: Engine; name?: string } & DecodeModelOptions = {}): Promise<Sequential> {
    return Model.restore(bytes, opts, (layers, topology, options) => {
      const chain = topology.inbound === undefined || topology.inbound.every((reads, i) => reads.length === 1 && reads[0] === i - 1);
      if (!chain) throw new ModelFormatError(`${opts.name ?? 'model file'}: a functional model, not a chain of layers (load it with Model.load)`);
      if (topology.inputShape && layers[0] && !layers[0].getConfig().inputShape) {
        throw new ModelFormatError(`${opts.name ?? 'model file'}: the first layer has no inputShape`);
      }
      return new Sequential(layers, options);
    });
  }

  /** Loads a model file written by `save` (Node). */
  static override async load(path: string, opts: { engine?: Engine } & DecodeModelOptions = {}): Promise<Sequential> {
    return Sequential.fromBytes(await Model.readModelFile(path), { ...opts, name: path });
  }
}
