/**
 * The executor's C structs (crates/kernels/src/exec/spec.rs and
 * crates/kernels/src/ffi/model.rs), field by field. Each struct is described
 * once, as an ordered list of named u32/f32 fields, and written or read by
 * name: no positional argument lists.
 */

type FieldType = 'u32' | 'f32';
type StructDef = readonly (readonly [name: string, type: FieldType])[];

export const MODEL_DESC = [
  ['magic', 'u32'],
  ['version', 'u32'],
  ['maxBatch', 'u32'],
  ['inH', 'u32'],
  ['inW', 'u32'],
  ['inC', 'u32'],
  ['nLayers', 'u32'],
  ['layersPtr', 'u32'],
] as const satisfies StructDef;

export const LAYER_DESC = [
  ['kind', 'u32'],
  ['units', 'u32'],
  ['sizeH', 'u32'],
  ['sizeW', 'u32'],
  ['strideH', 'u32'],
  ['strideW', 'u32'],
  ['padding', 'u32'],
  ['useBias', 'u32'],
  ['alpha', 'f32'],
  ['momentum', 'f32'],
  ['epsilon', 'f32'],
  ['rate', 'f32'],
  ['regularize', 'u32'],
] as const satisfies StructDef;

export const TRAIN_DESC = [
  ['loss', 'u32'],
  ['labelSmoothing', 'f32'],
  ['optimizer', 'u32'],
  ['momentum', 'f32'],
  ['nesterov', 'u32'],
  ['beta1', 'f32'],
  ['beta2', 'f32'],
  ['epsilon', 'f32'],
  ['weightDecay', 'f32'],
  ['l2Form', 'u32'],
  ['l2Lambda', 'f32'],
  ['clipNorm', 'f32'],
  ['classWeightsPtr', 'u32'],
  ['classWeightsLen', 'u32'],
] as const satisfies StructDef;

export const STEP_ARGS = [
  ['xPtr', 'u32'],
  ['targetsKind', 'u32'],
  ['targetsPtr', 'u32'],
  ['batch', 'u32'],
  ['lr', 'f32'],
  ['step', 'u32'],
  ['seedLo', 'u32'],
  ['seedHi', 'u32'],
] as const satisfies StructDef;

export const STEP_STATS = [
  ['loss', 'f32'],
  ['penalty', 'f32'],
  ['correct', 'u32'],
  ['gradNorm', 'f32'],
  ['updated', 'u32'],
] as const satisfies StructDef;

export const TENSOR_INFO = [
  ['layer', 'u32'],
  ['role', 'u32'],
  ['buffer', 'u32'],
  ['offset', 'u32'],
  ['len', 'u32'],
] as const satisfies StructDef;

/** `lc_image_transform`'s arguments (crates/kernels/src/ffi/image.rs, `ImageTransformArgs`). */
export const IMAGE_TRANSFORM_ARGS = [
  ['srcPtr', 'u32'],
  ['dstPtr', 'u32'],
  ['idsPtr', 'u32'],
  ['n', 'u32'],
  ['h', 'u32'],
  ['w', 'u32'],
  ['c', 'u32'],
  ['seedLo', 'u32'],
  ['seedHi', 'u32'],
  ['epoch', 'u32'],
  ['augment', 'u32'],
  ['rotation', 'f32'],
  ['widthShift', 'f32'],
  ['heightShift', 'f32'],
  ['shear', 'f32'],
  ['zoomLo', 'f32'],
  ['zoomHi', 'f32'],
  ['hflip', 'u32'],
  ['vflip', 'u32'],
  ['fillMode', 'u32'],
  ['fillValue', 'f32'],
  ['brightness', 'f32'],
  ['contrast', 'f32'],
  ['saturation', 'f32'],
  ['hue', 'f32'],
  ['preprocess', 'u32'],
  ['mean0', 'f32'],
  ['mean1', 'f32'],
  ['mean2', 'f32'],
  ['std0', 'f32'],
  ['std1', 'f32'],
  ['std2', 'f32'],
] as const satisfies StructDef;

/** `ImageTransformArgs.fill_mode` and `.preprocess` values. */
export const FillModeCode = { nearest: 0, reflect: 1, constant: 2 } as const;
export const PreprocessCode = { none: 0, minmax: 1, caffe: 2, standardize: 3 } as const;

export type StructValues<D extends StructDef> = { [K in D[number][0]]: number };

export function structBytes(def: StructDef): number {
  return def.length * 4;
}

/** Writes `values` into `view` (4-byte fields, little-endian like wasm) at `ptr`. */
export function writeStruct<D extends StructDef>(buffer: ArrayBufferLike, ptr: number, def: D, values: StructValues<D>): void {
  const view = new DataView(buffer, ptr, def.length * 4);
  def.forEach(([name, type], i) => {
    const v = (values as Record<string, number>)[name]!;
    if (type === 'u32') view.setUint32(i * 4, v, true);
    else view.setFloat32(i * 4, v, true);
  });
}

export function readStruct<D extends StructDef>(buffer: ArrayBufferLike, ptr: number, def: D): StructValues<D> {
  const view = new DataView(buffer, ptr, def.length * 4);
  const out: Record<string, number> = {};
  def.forEach(([name, type], i) => {
    out[name] = type === 'u32' ? view.getUint32(i * 4, true) : view.getFloat32(i * 4, true);
  });
  return out as StructValues<D>;
}

export const MODEL_DESC_MAGIC = 0x4e4e434c;
export const MODEL_DESC_VERSION = 1;

/** `LayerDesc.kind` values. */
export const LayerKind = {
  Conv2D: 1,
  Dense: 2,
  BatchNormalization: 3,
  ReLU: 4,
  LeakyReLU: 5,
  Sigmoid: 6,
  Softmax: 7,
  MaxPooling2D: 8,
  AveragePooling2D: 9,
  GlobalAveragePooling2D: 10,
  Flatten: 11,
  Dropout: 12,
} as const;
export type LayerKind = (typeof LayerKind)[keyof typeof LayerKind];

export const LossCode = { SoftmaxCrossEntropy: 1, BinaryCrossEntropy: 2 } as const;
export const OptimizerCode = { SGD: 1, Adam: 2, AdamW: 3 } as const;
export const L2Code = { None: 0, Keras: 1, Study: 2 } as const;
export const BufferCode = { Params: 1, State: 2, Grads: 3, Slot1: 4, Slot2: 5 } as const;
export const RoleCode = { Kernel: 1, Bias: 2, Gamma: 3, Beta: 4, MovingMean: 5, MovingVariance: 6 } as const;
export const RngDist = { Uniform: 1, Normal: 2, TruncatedNormal: 3 } as const;
