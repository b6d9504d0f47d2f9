//! What TypeScript tells the executor about a model, as `#[repr(C)]` structs
//! with named fields (mirrored in ts/sdk/src/exec/abi.ts), and their decoding
//! into typed specs. Decoding validates every field once.

use crate::batchnorm::BatchNormParams;
use crate::error::KernelError;
use crate::geom::Padding;

/// "LCNN" little-endian: guards against passing a wrong pointer.
pub const MODEL_DESC_MAGIC: u32 = 0x4E4E_434C;
pub const MODEL_DESC_VERSION: u32 = 1;

/// Header of a model description.
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
    pub n_layers: u32,
    /// Address of `n_layers` consecutive `LayerDesc`.
    pub layers_ptr: u32,
}

/// Layer kinds (the `kind` field of `LayerDesc`).
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
}

/// One layer; each kind reads only its own fields (the others are zero).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LayerDesc {
    pub kind: u32,
    /// Conv2D filters, Dense units.
    pub units: u32,
    /// Conv2D kernel, pooling window.
    pub size_h: u32,
    pub size_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    /// 0 = valid, 1 = same.
    pub padding: u32,
    /// Conv2D/Dense: 1 when the layer has a bias.
    pub use_bias: u32,
    /// LeakyReLU slope.
    pub alpha: f32,
    /// BatchNormalization momentum of the moving statistics.
    pub momentum: f32,
    /// BatchNormalization epsilon.
    pub epsilon: f32,
    /// Dropout rate.
    pub rate: f32,
    /// Conv2D/Dense: 1 when the kernel carries the model's L2 penalty
    /// (Keras' `kernel_regularizer`).
    pub regularize: u32,
}

/// A decoded, validated layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerSpec {
    Conv2d { filters: usize, kernel: [usize; 2], strides: [usize; 2], padding: Padding, use_bias: bool, regularized: bool },
    Dense { units: usize, use_bias: bool, regularized: bool },
    BatchNorm(BatchNormParams),
    Relu,
    LeakyRelu { alpha: f32 },
    Sigmoid,
    Softmax,
    MaxPool { pool: [usize; 2], strides: [usize; 2], padding: Padding },
    AvgPool { pool: [usize; 2], strides: [usize; 2], padding: Padding },
    GlobalAvgPool,
    Flatten,
    Dropout { rate: f32 },
}

fn padding(i: usize, v: u32) -> Result<Padding, KernelError> {
    match v {
        0 => Ok(Padding::Valid),
        1 => Ok(Padding::Same),
        _ => Err(KernelError::value(format!("layer {i}: padding must be 0 (valid) or 1 (same), got {v}"))),
    }
}

fn positive(i: usize, what: &str, v: u32) -> Result<usize, KernelError> {
    if v == 0 {
        return Err(KernelError::value(format!("layer {i}: {what} must be >= 1, got 0")));
    }
    Ok(v as usize)
}

impl LayerSpec {
    /// Decodes layer `i` of a description.
    pub fn decode(i: usize, d: &LayerDesc) -> Result<Self, KernelError> {
        let window = |what: &str| -> Result<([usize; 2], [usize; 2], Padding), KernelError> {
            Ok((
                [positive(i, &format!("{what} height"), d.size_h)?, positive(i, &format!("{what} width"), d.size_w)?],
                [positive(i, "stride height", d.stride_h)?, positive(i, "stride width", d.stride_w)?],
                padding(i, d.padding)?,
            ))
        };
        Ok(match d.kind {
            kind::CONV2D => {
                let (kernel, strides, padding) = window("kernel")?;
                LayerSpec::Conv2d {
                    filters: positive(i, "filters", d.units)?,
                    kernel,
                    strides,
                    padding,
                    use_bias: d.use_bias != 0,
                    regularized: d.regularize != 0,
                }
            }
            kind::DENSE => LayerSpec::Dense { units: positive(i, "units", d.units)?, use_bias: d.use_bias != 0, regularized: d.regularize != 0 },
            kind::BATCH_NORM => LayerSpec::BatchNorm(
                BatchNormParams::new(d.momentum, d.epsilon).map_err(|e| KernelError { message: format!("layer {i}: {}", e.message), ..e })?,
            ),
            kind::RELU => LayerSpec::Relu,
            kind::LEAKY_RELU => {
                if !d.alpha.is_finite() {
                    return Err(KernelError::value(format!("layer {i}: LeakyReLU alpha must be finite, got {}", d.alpha)));
                }
                LayerSpec::LeakyRelu { alpha: d.alpha }
            }
            kind::SIGMOID => LayerSpec::Sigmoid,
            kind::SOFTMAX => LayerSpec::Softmax,
            kind::MAX_POOL => {
                let (pool, strides, padding) = window("pool")?;
                LayerSpec::MaxPool { pool, strides, padding }
            }
            kind::AVG_POOL => {
                let (pool, strides, padding) = window("pool")?;
                LayerSpec::AvgPool { pool, strides, padding }
            }
            kind::GLOBAL_AVG_POOL => LayerSpec::GlobalAvgPool,
            kind::FLATTEN => LayerSpec::Flatten,
            kind::DROPOUT => {
                if !(0.0..1.0).contains(&d.rate) {
                    return Err(KernelError::value(format!("layer {i}: Dropout rate must be in [0, 1), got {}", d.rate)));
                }
                LayerSpec::Dropout { rate: d.rate }
            }
            other => return Err(KernelError::value(format!("layer {i}: unknown layer kind {other}"))),
        })
    }
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

/// A decoded training configuration (class weights are copied by the model).
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
        let loss = match d.loss {
            1 => LossKind::SoftmaxCrossEntropy { label_smoothing: ls },
            2 => LossKind::BinaryCrossEntropy { label_smoothing: ls },
            v => return Err(KernelError::value(format!("train: unknown loss {v} (1 = softmax cross-entropy, 2 = binary cross-entropy)"))),
        };
        let adam = || crate::optim::AdamParams::new(d.beta1 as f64, d.beta2 as f64, d.epsilon as f64);
        let optimizer = match d.optimizer {
            1 => OptimizerKind::Sgd(crate::optim::SgdParams::new(d.momentum, d.nesterov != 0)?),
            2 => OptimizerKind::Adam(adam()?),
            3 => {
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
            0 => L2::None,
            1 => L2::Keras { lambda: d.l2_lambda },
            2 => L2::Study { lambda: d.l2_lambda },
            v => return Err(KernelError::value(format!("train: unknown l2 form {v} (0 = none, 1 = keras, 2 = study)"))),
        };
        if !(d.clip_norm.is_finite() && d.clip_norm >= 0.0) {
            return Err(KernelError::value(format!("train: clip_norm must be finite and >= 0, got {}", d.clip_norm)));
        }
        let clip_norm = (d.clip_norm > 0.0).then_some(d.clip_norm);
        Ok(Self { loss, optimizer, l2, clip_norm })
    }
}
