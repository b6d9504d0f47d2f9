/**
 * The executor's C structs (declared once in crates/kernels/src/exec/abi.rs),
 * field by field. Each struct is described
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
  ['nSteps', 'u32'],
  ['stepsPtr', 'u32'],
  ['inputsPtr', 'u32'],
  ['nInputs', 'u32'],
] as const satisfies StructDef;

export const STEP_DESC = [
  ['kind', 'u32'],
  ['firstInput', 'u32'],
  ['nInputs', 'u32'],
  ['units', 'u32'],
  ['sizeH', 'u32'],
  ['sizeW', 'u32'],
  ['strideH', 'u32'],
  ['strideW', 'u32'],
  ['padding', 'u32'],
  ['padTop', 'u32'],
  ['padBottom', 'u32'],
  ['padLeft', 'u32'],
  ['padRight', 'u32'],
  ['useBias', 'u32'],
  ['alpha', 'f32'],
  ['maxValue', 'f32'],
  ['momentum', 'f32'],
  ['epsilon', 'f32'],
  ['rate', 'f32'],
  ['regularize', 'u32'],
  ['ceilMode', 'u32'],
  ['countIncludePad', 'u32'],
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
  ['frozenPtr', 'u32'],
  ['frozenLen', 'u32'],
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
  ['step', 'u32'],
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
  ['stainScale', 'f32'],
  ['stainShift', 'f32'],
  ['randStainMeanAvg0', 'f32'],
  ['randStainMeanAvg1', 'f32'],
  ['randStainMeanAvg2', 'f32'],
  ['randStainMeanStd0', 'f32'],
  ['randStainMeanStd1', 'f32'],
  ['randStainMeanStd2', 'f32'],
  ['randStainStdAvg0', 'f32'],
  ['randStainStdAvg1', 'f32'],
  ['randStainStdAvg2', 'f32'],
  ['randStainStdStd0', 'f32'],
  ['randStainStdStd1', 'f32'],
  ['randStainStdStd2', 'f32'],
  ['randStainProbability', 'f32'],
  ['preprocess', 'u32'],
  ['mean0', 'f32'],
  ['mean1', 'f32'],
  ['mean2', 'f32'],
  ['std0', 'f32'],
  ['std1', 'f32'],
  ['std2', 'f32'],
] as const satisfies StructDef;

/** `MixArgs` (crates/kernels/src/ffi/image.rs): a batch mixing, for `lc_mix_batch` and a staged transform's second part. */
export const MIX_ARGS = [
  ['kind', 'u32'],
  ['alpha', 'f32'],
  ['seedLo', 'u32'],
  ['seedHi', 'u32'],
  ['epoch', 'u32'],
  ['first', 'u32'],
  ['n', 'u32'],
  ['h', 'u32'],
  ['w', 'u32'],
  ['c', 'u32'],
  ['lambdasPtr', 'u32'],
  ['scratchPtr', 'u32'],
] as const satisfies StructDef;

/** `MixArgs.kind` values. */
export const MixKindCode = { mixup: 1, cutmix: 2 } as const;

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
export const MODEL_DESC_VERSION = 2;

/** `StepDesc.kind` values: the executor's step kinds (a Keras layer may become several steps). */
export const StepKind = {
  CONV2D: 1,
  DENSE: 2,
  BATCH_NORM: 3,
  RELU: 4,
  LEAKY_RELU: 5,
  SIGMOID: 6,
  SOFTMAX: 7,
  MAX_POOL: 8,
  AVG_POOL: 9,
  GLOBAL_AVG_POOL: 10,
  FLATTEN: 11,
  DROPOUT: 12,
  ADD: 13,
  CONCAT: 14,
  DEPTHWISE_CONV2D: 15,
  ZERO_PAD: 16,
  BOUNDED_RELU: 17,
  AVERAGE: 18,
  TANH: 19,
  SWISH: 20,
  HARD_SIGMOID: 21,
  HARD_SWISH: 22,
  MULTIPLY: 23,
} as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

/** `StepDesc.padding` values. */
export const PaddingCode = { VALID: 0, SAME: 1, EXPLICIT: 2 } as const;
export const LossCode = { SOFTMAX_CROSS_ENTROPY: 1, BINARY_CROSS_ENTROPY: 2 } as const;
export const OptimizerCode = { SGD: 1, ADAM: 2, ADAMW: 3 } as const;
export const L2Code = { NONE: 0, KERAS: 1, STUDY: 2 } as const;
export const BufferCode = { PARAMS: 1, STATE: 2, GRADS: 3, SLOT1: 4, SLOT2: 5 } as const;
export const RoleCode = { KERNEL: 1, BIAS: 2, GAMMA: 3, BETA: 4, MOVING_MEAN: 5, MOVING_VARIANCE: 6 } as const;
export const TargetsCode = { LABELS: 1, DENSE: 2 } as const;
export const RngDist = { Uniform: 1, Normal: 2, TruncatedNormal: 3 } as const;

/**
 * The structs and codes above, named as the Rust side names them
 * (crates/kernels/src/exec/abi.rs); a test compares this with the executor's
 * own description (`lc_abi_describe`) field by field and value by value.
 */
export const EXECUTOR_ABI = {
  structs: { ModelDesc: MODEL_DESC, StepDesc: STEP_DESC, TrainDesc: TRAIN_DESC, StepArgs: STEP_ARGS, StepStats: STEP_STATS, TensorInfo: TENSOR_INFO },
  codes: {
    StepKind,
    Padding: PaddingCode,
    Loss: LossCode,
    Optimizer: OptimizerCode,
    L2: L2Code,
    Buffer: BufferCode,
    Role: RoleCode,
    Targets: TargetsCode,
    Magic: { MODEL_DESC_MAGIC, MODEL_DESC_VERSION },
  },
} as const;
