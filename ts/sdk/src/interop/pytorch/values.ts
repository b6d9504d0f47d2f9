/**
 * The Python variables that hold a lite-cnn value in the generated
 * `forward`, by layout: NCHW (`nchw`), flat features in lite-cnn's (NHWC)
 * order (`flat`), or flat features in the order `torch.flatten` gives on NCHW
 * data (`chw`: what a Flatten of a spatial value becomes, so the module reads
 * like a PyTorch one; Dense and BatchNormalization after it get their weights
 * permuted instead of the data). A conversion is one line, made once.
 */
import type { Shape3 } from '../../layers/shape.js';
import { isFlatShape } from '../layouts.js';

export type TorchLayout = 'nchw' | 'flat' | 'chw';

/** Emits `variable = expression` into `forward` and returns the variable. */
export type Emit = (variable: string, expression: string) => string;

export class TorchValue {
  private readonly forms = new Map<TorchLayout, string>();

  constructor(
    private readonly emit: Emit,
    readonly shape: Shape3,
    layout: TorchLayout,
    variable: string,
    /** For `chw`: the `[h, w, c]` shape that was flattened. */
    readonly flattenedFrom: Shape3 | null = null,
  ) {
    this.forms.set(layout, variable);
  }

  get layout(): TorchLayout {
    return this.forms.keys().next().value!;
  }

  /** The variable holding the value in `layout`, converting (once) when needed. */
  as(layout: TorchLayout): string {
    const known = this.forms.get(layout);
    if (known !== undefined) return known;
    const base = this.forms.values().next().value!;
    const variable = this.emit(`${base}_${layout}`, this.conversion(layout));
    this.forms.set(layout, variable);
    return variable;
  }

  private conversion(layout: TorchLayout): string {
    const nchw = this.forms.get('nchw');
    if (layout === 'chw') return `torch.flatten(${nchw ?? this.as('nchw')}, 1)`;
    if (layout === 'flat') {
      if (nchw !== undefined) return isFlatShape(this.shape) ? `torch.flatten(${nchw}, 1)` : `${nchw}.permute(0, 2, 3, 1).flatten(1)`;
      const [h, w, c] = this.flattenedFrom!;
      return `${this.forms.get('chw')!}.view(-1, ${c}, ${h}, ${w}).permute(0, 2, 3, 1).flatten(1)`;
    }
    return `${this.as('flat')}[:, :, None, None]`;
  }
}
