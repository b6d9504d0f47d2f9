/**
 * MaxPooling2D → `nn.MaxPool2d`, AveragePooling2D → `nn.AvgPool2d`
 * (ceil_mode, count_include_pad), GlobalAveragePooling2D → a mean over H and
 * W. Pads PyTorch's pools cannot take go to an `F.pad` in front (-inf for
 * max); an average that excludes them divides by the pooled count of real
 * cells, so the divisor is lite-cnn's.
 */
import { ConfigError } from '../../../errors.js';
import type { GlobalAveragePooling2DConfig, Pooling2DConfig } from '../../../layers/pooling.js';
import { windowOutSize } from '../../../layers/shape.js';
import { pyTuple } from '../python-names.js';
import type { TorchLayerExporter } from '../layer-context.js';
import { windowPadding, type WindowPadding } from './padding.js';

export const pooling2d: TorchLayerExporter<Pooling2DConfig> = (ctx) => {
  const c = ctx.layer.config;
  const max = c.kind === 'MaxPooling2D';
  const pad = windowPadding(c.padding, ctx.layer.inputShapes[0]!, c.poolSize, c.strides, { pool: true, ...(max ? { value: "float('-inf')" } : {}) });
  checkOutputSize(c, pad, ctx.layer.outputShape);
  const args = [`kernel_size=${pyTuple(c.poolSize)}`, `stride=${pyTuple(c.strides)}`, `padding=${pad.native}`, `ceil_mode=${c.ceilMode ? 'True' : 'False'}`];
  if (!max) args.push(`count_include_pad=${c.countIncludePad ? 'True' : 'False'}`);
  const self = ctx.submodule(`nn.${max ? 'MaxPool2d' : 'AvgPool2d'}(${args.join(', ')})`);
  const x = ctx.input.as('nchw');
  const pooled = `${self}(${pad.apply(x)})`;
  const excludePads = !max && pad.explicit && !c.countIncludePad;
  return ctx.output(excludePads ? `${pooled} / ${self}(${pad.apply(`torch.ones_like(${x}[:, :1])`)})` : pooled, 'nchw');
};

/** PyTorch's output size for what the module sees must be lite-cnn's (ceil mode drops windows by its own rule). */
function checkOutputSize(c: Pooling2DConfig, pad: WindowPadding, out: readonly number[]): void {
  const { input, pads } = pad.moduleView;
  const h = windowOutSize(input[0], c.poolSize[0], c.strides[0], pads, 'h', c.ceilMode);
  const w = windowOutSize(input[1], c.poolSize[1], c.strides[1], pads, 'w', c.ceilMode);
  if (h !== out[0] || w !== out[1]) {
    throw new ConfigError(`PyTorch export: ${c.kind} '${c.name}': PyTorch's pooling would give ${h}x${w} here, lite-cnn's gives ${out[0]}x${out[1]} (ceil mode with pads PyTorch cannot take natively)`);
  }
}

export const globalAveragePooling2d: TorchLayerExporter<GlobalAveragePooling2DConfig> = (ctx) => ctx.output(`torch.mean(${ctx.input.as('nchw')}, dim=(2, 3))`, 'flat');
