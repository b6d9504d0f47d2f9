/**
 * The ONNX tensors that hold a lite-cnn value, by layout. Convolutions and
 * pooling run in ONNX's NCHW, lite-cnn's Flatten needs NHWC order, flat
 * features are `[N, n]`: each layer asks for the layout it needs and gets a
 * Transpose (or Flatten, Unsqueeze) only where the value is not already in
 * it. A conversion is made once per value, however many layers read it.
 */
import { ConfigError } from '../../../errors.js';
import type { Shape3 } from '../../../layers/shape.js';
import { isFlatShape } from '../../layouts.js';
import type { GraphBuilder } from './graph-builder.js';

/** `nchw` / `nhwc`: rank-4 tensors; `flat`: `[N, n]` for a value of shape `[1, 1, n]`. */
export type Layout = 'nchw' | 'nhwc' | 'flat';

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

export class OnnxValue {
  private readonly forms = new Map<Layout, string>();

  constructor(
    private readonly builder: GraphBuilder,
    /** Names the conversion nodes after the layer that made the value. */
    readonly source: string,
    readonly shape: Shape3,
    layout: Layout,
    tensor: string,
  ) {
    if (layout === 'flat' && !isFlatShape(shape)) throw new ConfigError(`ONNX export: '${source}' of shape [${shape.join(', ')}] cannot be flat`);
    this.forms.set(layout, tensor);
  }

  /** The layout the value was produced in (what layout-preserving layers keep). */
  get layout(): Layout {
    return this.forms.keys().next().value!;
  }

  /** The tensor holding the value in `layout`, converting (once) when needed. */
  as(layout: Layout): string {
    const known = this.forms.get(layout);
    if (known !== undefined) return known;
    const b = this.builder;
    const name = `${this.source}_${layout}`;
    let tensor: string;
    if (layout === 'flat') {
      if (!isFlatShape(this.shape)) {
        // lite-cnn flattens in NHWC order; with h·w = 1 both orders agree.
        tensor = b.node('Flatten', { name, inputs: [this.as('nhwc')], attributes: { axis: 1 } });
      } else {
        tensor = b.node('Flatten', { name, inputs: [this.forms.get('nchw') ?? this.forms.get('nhwc')!], attributes: { axis: 1 } });
      }
    } else if (this.forms.has('flat')) {
      // [N, n] → [N, n, 1, 1] or [N, 1, 1, n].
      tensor = b.node('Unsqueeze', { name, inputs: [this.forms.get('flat')!, b.int64(`${name}_axes`, layout === 'nchw' ? [2, 3] : [1, 2])] });
    } else {
      const from = layout === 'nchw' ? 'nhwc' : 'nchw';
      tensor = b.node('Transpose', { name, inputs: [this.forms.get(from)!], attributes: { perm: layout === 'nchw' ? NHWC_TO_NCHW : NCHW_TO_NHWC } });
    }
    this.forms.set(layout, tensor);
    return tensor;
  }
}
