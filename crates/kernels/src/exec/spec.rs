//! What TypeScript tells the executor about a model, as `#[repr(C)]` structs
//! with named fields, and their decoding into typed specs. Decoding validates
//! every field once. The TypeScript mirror (ts/sdk/src/exec/abi.ts) is checked
//! field by field and value by value against `abi::describe()` by a test.

use crate::batchnorm::BatchNormParams;
use crate::error::KernelError;
use crate::geom::Padding;

/// "LCNN" little-endian: guards against passing a wrong pointer.
pub const MODEL_DESC_MAGIC: u32 = 0x4E4E_434C;
/// 2: a graph of steps, each listing the values it reads.
pub const MODEL_DESC_VERSION: u32 = 2;

/// Header of a model description: a graph of `n_steps` steps in topological
/// order. Values are numbered 0 (the model input) and `i + 1` (the output of
/// step `i`); the last step's output is the model's output.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModelDesc {
    pub magic: u32,
    pub version: u32,
    /// Largest batch any call will use; buffers are sized for it.
    pub max_batch: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub in_c: u32,
    pub n_steps: u32,
    /// Address of `n_steps` consecutive `StepDesc`.
    pub steps_ptr: u32,
    /// Address of the u32 value ids every step reads (`StepDesc::first_input`
    /// and `n_inputs` index into it).
    pub inputs_ptr: u32,
    pub n_inputs: u32,
}

/// Step kinds (the `kind` field of `StepDesc`).
pub mod kind {
    pub const CONV2D: u32 = 1;
    pub const DENSE: u32 = 2;
    pub const BATCH_NORM: u32 = 3;
    pub const RELU: u32 = 4;
    pub const LEAKY_RELU: u32 = 5;
    pub const SIGMOID: u32 = 6;
    pub const SOFTMAX: u32 = 7;
    pub const MAX_POOL: u32 = 8;
    pub const AVG_POOL: u32 = 9;
    pub const GLOBAL_AVG_POOL: u32 = 10;
    pub const FLATTEN: u32 = 11;
    pub const DROPOUT: u32 = 12;
    pub const ADD: u32 = 13;
    pub const CONCAT: u32 = 14;
    pub const DEPTHWISE_CONV2D: u32 = 15;
    pub const ZERO_PAD: u32 = 16;
    pub const BOUNDED_RELU: u32 = 17;
    pub const AVERAGE: u32 = 18;
    pub const TANH: u32 = 19;
    pub const SWISH: u32 = 20;
    pub const HARD_SIGMOID: u32 = 21;
    pub const HARD_SWISH: u32 = 22;
    pub const MULTIPLY: u32 = 23;
}

/// `StepDesc::padding` values.
pub mod padding_code {
    pub const VALID: u32 = 0;
    pub const SAME: u32 = 1;
    /// `pad_top`, `pad_bottom`, `pad_left`, `pad_right`.
    pub const EXPLICIT: u32 = 2;
}

/// `TrainDesc::loss`, `::optimizer` and `::l2_form` values, and `StepArgs::targets_kind`.
pub mod train_code {
    pub const LOSS_SOFTMAX_CROSS_ENTROPY: u32 = 1;
    pub const LOSS_BINARY_CROSS_ENTROPY: u32 = 2;
    pub const OPTIMIZER_SGD: u32 = 1;
    pub const OPTIMIZER_ADAM: u32 = 2;
    pub const OPTIMIZER_ADAMW: u32 = 3;
    pub const L2_NONE: u32 = 0;
    pub const L2_KERAS: u32 = 1;
    pub const L2_STUDY: u32 = 2;
    pub const TARGETS_LABELS: u32 = 1;
    pub const TARGETS_DENSE: u32 = 2;
}

/// One step; each kind reads only its own fields (the others are zero).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct StepDesc {
    pub kind: u32,
    /// Where this step's input value ids start in `ModelDesc::inputs_ptr`.
    pub first_input: u32,
    pub n_inputs: u32,
    /// Conv2D filters, Dense units, DepthwiseConv2D depth multiplier.
    pub units: u32,
    /// Convolution kernel, pooling window.
    pub size_h: u32,
    pub size_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    /// A `padding_code`.
    pub padding: u32,
    pub pad_top: u32,
    pub pad_bottom: u32,
    pub pad_left: u32,
    pub pad_right: u32,
    /// Convolutions/Dense: 1 when the step has a bias.
    pub use_bias: u32,
    /// LeakyReLU slope.
    pub alpha: f32,
    /// Bounded ReLU ceiling (ReLU6: 6).
    pub max_value: f32,
    /// BatchNormalization momentum of the moving statistics.
    pub momentum: f32,
    /// BatchNormalization epsilon.
    pub epsilon: f32,
    /// Dropout rate.
    pub rate: f32,
    /// Convolutions/Dense: 1 when the kernel carries the model's L2 penalty
    /// (Keras' `kernel_regularizer`).
    pub regularize: u32,
    /// Pooling: 1 for PyTorch's `ceil_mode`.
    pub ceil_mode: u32,
    /// Average pooling: 1 when padded positions count in the divisor
    /// (PyTorch's default `count_include_pad`), 0 as in Keras.
    pub count_include_pad: u32,
}

/// Pooling window options beyond the window itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolMode {
    pub ceil_mode: bool,
    pub count_include_pad: bool,
}

/// A decoded, validated step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepSpec {
    Conv2d { filters: usize, kernel: [usize; 2], strides: [usize; 2], padding: Padding, use_bias: bool, regularized: bool },
    DepthwiseConv2d { multiplier: usize, kernel: [usize; 2], strides: [usize; 2], padding: Padding, use_bias: bool, regularized: bool },
    Dense { units: usize, use_bias: bool, regularized: bool },
    BatchNorm(BatchNormParams),
    Relu,
    BoundedRelu { max: f32 },
    LeakyRelu { alpha: f32 },
    Sigmoid,
    Tanh,
    /// `x · σ(x)` (SiLU).
    Swish,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `x · relu6(x + 3) / 6`.
    HardSwish,
    Softmax,
    MaxPool { pool: [usize; 2], strides: [usize; 2], padding: Padding, mode: PoolMode },
    AvgPool { pool: [usize; 2], strides: [usize; 2], padding: Padding, mode: PoolMode },
    GlobalAvgPool,
    Flatten,
    Dropout { rate: f32 },
    Add,
    Average,
    /// Two inputs of one shape, or one of `[1, 1, c]` scaling the other.
    Multiply,
    Concat,
    ZeroPad { top: usize, bottom: usize, left: usize, right: usize },
}

/// A step and the values it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct StepNode {
    pub spec: StepSpec,
    /// Value ids: 0 is the model input, `i + 1` the output of step `i`.
    pub inputs: Vec<usize>,
}

fn err(i: usize, msg: impl std::fmt::Display) -> KernelError {
    KernelError::value(format!("step {i}: {msg}"))
}

fn padding(i: usize, d: &StepDesc) -> Result<Padding, KernelError> {
    match d.padding {
        padding_code::VALID => Ok(Padding::Valid),
        padding_code::SAME => Ok(Padding::Same),
        padding_code::EXPLICIT => Ok(Padding::Explicit {
            top: d.pad_top as usize,
            bottom: d.pad_bottom as usize,
            left: d.pad_left as usize,
            right: d.pad_right as usize,
        }),
        v => Err(err(i, format!("padding must be 0 (valid), 1 (same) or 2 (explicit), got {v}"))),
    }
}

fn positive(i: usize, what: &str, v: u32) -> Result<usize, KernelError> {
    if v == 0 {
        return Err(err(i, format!("{what} must be >= 1, got 0")));
    }
    Ok(v as usize)
}

fn flag(i: usize, what: &str, v: u32) -> Result<bool, KernelError> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(err(i, format!("{what} must be 0 or 1, got {v}"))),
    }
}

impl StepSpec {
    /// Decodes step `i` of a description.
    pub fn decode(i: usize, d: &StepDesc) -> Result<Self, KernelError> {
        let window = |what: &str| -> Result<([usize; 2], [usize; 2], Padding), KernelError> {
            Ok((
                [positive(i, &format!("{what} height"), d.size_h)?, positive(i, &format!("{what} width"), d.size_w)?],
                [positive(i, "stride height", d.stride_h)?, positive(i, "stride width", d.stride_w)?],
                padding(i, d)?,
            ))
        };
        // Convolutions' and Dense's (use_bias, regularized).
        let kernel_flags = || -> Result<(bool, bool), KernelError> { Ok((flag(i, "use_bias", d.use_bias)?, flag(i, "regularize", d.regularize)?)) };
        let pool_mode = || -> Result<PoolMode, KernelError> {
            Ok(PoolMode { ceil_mode: flag(i, "ceil_mode", d.ceil_mode)?, count_include_pad: flag(i, "count_include_pad", d.count_include_pad)? })
        };
        Ok(match d.kind {
            kind::CONV2D => {
                let ((kernel, strides, padding), (use_bias, regularized)) = (window("kernel")?, kernel_flags()?);
                StepSpec::Conv2d { filters: positive(i, "filters", d.units)?, kernel, strides, padding, use_bias, regularized }
            }
            kind::DEPTHWISE_CONV2D => {
                let ((kernel, strides, padding), (use_bias, regularized)) = (window("kernel")?, kernel_flags()?);
                StepSpec::DepthwiseConv2d { multiplier: positive(i, "depth multiplier", d.units)?, kernel, strides, padding, use_bias, regularized }
            }
            kind::DENSE => {
                let (use_bias, regularized) = kernel_flags()?;
                StepSpec::Dense { units: positive(i, "units", d.units)?, use_bias, regularized }
            }
            kind::BATCH_NORM => StepSpec::BatchNorm(BatchNormParams::new(d.momentum, d.epsilon).map_err(|e| err(i, e.message))?),
            kind::RELU => StepSpec::Relu,
            kind::BOUNDED_RELU => {
                if !(d.max_value.is_finite() && d.max_value > 0.0) {
                    return Err(err(i, format!("ReLU max_value must be finite and > 0, got {}", d.max_value)));
                }
                StepSpec::BoundedRelu { max: d.max_value }
            }
            kind::LEAKY_RELU => {
                if !d.alpha.is_finite() {
                    return Err(err(i, format!("LeakyReLU alpha must be finite, got {}", d.alpha)));
                }
                StepSpec::LeakyRelu { alpha: d.alpha }
            }
            kind::SIGMOID => StepSpec::Sigmoid,
            kind::TANH => StepSpec::Tanh,
            kind::SWISH => StepSpec::Swish,
            kind::HARD_SIGMOID => StepSpec::HardSigmoid,
            kind::HARD_SWISH => StepSpec::HardSwish,
            kind::SOFTMAX => StepSpec::Softmax,
            kind::MAX_POOL => {
                let (pool, strides, padding) = window("pool")?;
                StepSpec::MaxPool { pool, strides, padding, mode: pool_mode()? }
            }
            kind::AVG_POOL => {
                let (pool, strides, padding) = window("pool")?;
                StepSpec::AvgPool { pool, strides, padding, mode: pool_mode()? }
            }
            kind::GLOBAL_AVG_POOL => StepSpec::GlobalAvgPool,
            kind::FLATTEN => StepSpec::Flatten,
            kind::DROPOUT => {
                if !(0.0..1.0).contains(&d.rate) {
                    return Err(err(i, format!("Dropout rate must be in [0, 1), got {}", d.rate)));
                }
                StepSpec::Dropout { rate: d.rate }
            }
            kind::ADD => StepSpec::Add,
            kind::AVERAGE => StepSpec::Average,
            kind::MULTIPLY => StepSpec::Multiply,
            kind::CONCAT => StepSpec::Concat,
            kind::ZERO_PAD => StepSpec::ZeroPad {
                top: d.pad_top as usize,
                bottom: d.pad_bottom as usize,
                left: d.pad_left as usize,
                right: d.pad_right as usize,
            },
            other => return Err(err(i, format!("unknown step kind {other}"))),
        })
    }

    /// How many inputs the kind reads: exactly one, or (merges) two or more.
    pub fn arity(&self) -> Arity {
        match self {
            StepSpec::Add | StepSpec::Average | StepSpec::Multiply | StepSpec::Concat => Arity::AtLeastTwo,
            _ => Arity::One,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    One,
    AtLeastTwo,
}

/// Training configuration (set once per compile, before the first step).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrainDesc {
    /// 1 = softmax cross-entropy, 2 = binary cross-entropy (one sigmoid/logit output).
    pub loss: u32,
    pub label_smoothing: f32,
    /// 1 = SGD, 2 = Adam, 3 = AdamW.
    pub optimizer: u32,
    /// SGD momentum (0 = plain SGD).
    pub momentum: f32,
    /// SGD: 1 for Nesterov momentum.
    pub nesterov: u32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    /// AdamW decoupled weight decay (on kernels only).
    pub weight_decay: f32,
    /// 0 = none, 1 = Keras `l2(lambda)`: `lambda·sum(W²)`, 2 = the study's `lambda/(2·batch)·sum(W²)`.
    pub l2_form: u32,
    pub l2_lambda: f32,
    /// Clip gradients to this global norm; 0 = no clipping.
    pub clip_norm: f32,
    /// Optional per-class loss weights (`class_weights_len` f32 at this address; 0 = none).
    pub class_weights_ptr: u32,
    pub class_weights_len: u32,
    /// Optional per-step frozen flags (`frozen_len` u32 at this address, one
    /// per step, 1 = frozen; 0 = every step trains): Keras' `trainable = false`.
    pub frozen_ptr: u32,
    pub frozen_len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossKind {
    SoftmaxCrossEntropy { label_smoothing: f32 },
    BinaryCrossEntropy { label_smoothing: f32 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    Sgd(crate::optim::SgdParams),
    Adam(crate::optim::AdamParams),
    AdamW(crate::optim::AdamParams, f32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum L2 {
    None,
    Keras { lambda: f32 },
    Study { lambda: f32 },
}

/// A decoded training configuration (class weights and frozen flags are
/// copied by the model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSpec {
    pub loss: LossKind,
    pub optimizer: OptimizerKind,
    pub l2: L2,
    pub clip_norm: Option<f32>,
}

impl TrainSpec {
    pub fn decode(d: &TrainDesc) -> Result<Self, KernelError> {
        let ls = d.label_smoothing;
        if !(0.0..=1.0).contains(&ls) {
            return Err(KernelError::value(format!("train: label_smoothing must be in [0, 1], got {ls}")));
        }
        use train_code::*;
        let loss = match d.loss {
            LOSS_SOFTMAX_CROSS_ENTROPY => LossKind::SoftmaxCrossEntropy { label_smoothing: ls },
            LOSS_BINARY_CROSS_ENTROPY => LossKind::BinaryCrossEntropy { label_smoothing: ls },
            v => return Err(KernelError::value(format!("train: unknown loss {v} (1 = softmax cross-entropy, 2 = binary cross-entropy)"))),
        };
        let adam = || crate::optim::AdamParams::new(d.beta1 as f64, d.beta2 as f64, d.epsilon as f64);
        let optimizer = match d.optimizer {
            OPTIMIZER_SGD => OptimizerKind::Sgd(crate::optim::SgdParams::new(d.momentum, d.nesterov != 0)?),
            OPTIMIZER_ADAM => OptimizerKind::Adam(adam()?),
            OPTIMIZER_ADAMW => {
                if !(d.weight_decay.is_finite() && d.weight_decay >= 0.0) {
                    return Err(KernelError::value(format!("train: weight_decay must be finite and >= 0, got {}", d.weight_decay)));
                }
                OptimizerKind::AdamW(adam()?, d.weight_decay)
            }
            v => return Err(KernelError::value(format!("train: unknown optimizer {v} (1 = SGD, 2 = Adam, 3 = AdamW)"))),
        };
        if !(d.l2_lambda.is_finite() && d.l2_lambda >= 0.0) {
            return Err(KernelError::value(format!("train: l2 lambda must be finite and >= 0, got {}", d.l2_lambda)));
        }
        let l2 = match d.l2_form {
            L2_NONE => L2::None,
            L2_KERAS => L2::Keras { lambda: d.l2_lambda },
            L2_STUDY => L2::Study { lambda: d.l2_lambda },
            v => return Err(KernelError::value(format!("train: unknown l2 form {v} (0 = none, 1 = keras, 2 = study)"))),
        };
        if !(d.clip_norm.is_finite() && d.clip_norm >= 0.0) {
            return Err(KernelError::value(format!("train: clip_norm must be finite and >= 0, got {}", d.clip_norm)));
        }
        let clip_norm = (d.clip_norm > 0.0).then_some(d.clip_norm);
        Ok(Self { loss, optimizer, l2, clip_norm })
    }
}
