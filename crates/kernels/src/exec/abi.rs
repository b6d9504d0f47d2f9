//! The one source of the executor's ABI: every `#[repr(C)]` struct that
//! crosses the wasm boundary, field by field with its byte offset and type,
//! and every code the structs carry. `describe()` renders it as JSON; the
//! TypeScript mirror (ts/sdk/src/exec/abi.ts) is tested against it, so the two
//! cannot drift apart silently.

use super::model::StepStats;
use super::ops::{BufferKind, Role};
use super::spec::{kind, padding_code, train_code as t, ModelDesc, StepDesc, TrainDesc};

/// Which flat buffer `lc_model_buffer_*` refers to (params and state are the
/// tensors' `BufferKind`s).
pub mod buffer_code {
    pub const PARAMS: u32 = super::BufferKind::Params as u32;
    pub const STATE: u32 = super::BufferKind::State as u32;
    pub const GRADS: u32 = 3;
    pub const SLOT1: u32 = 4;
    pub const SLOT2: u32 = 5;
}
use core::mem::{offset_of, size_of};

/// Arguments of one training step or evaluation batch.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StepArgs {
    /// `[batch, h, w, c]` f32 inputs.
    pub x_ptr: u32,
    /// 1: `batch` u32 class labels; 2: `batch × classes` f32 targets.
    pub targets_kind: u32,
    pub targets_ptr: u32,
    pub batch: u32,
    pub lr: f32,
    /// 1-based step number (Adam's bias correction, dropout streams).
    pub step: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
}

/// One tensor's placement, as written by `lc_model_tensor_info`.
#[repr(C)]
pub struct TensorInfo {
    pub step: u32,
    pub role: u32,
    pub buffer: u32,
    pub offset: u32,
    pub len: u32,
}

/// `(name, byte offset, "u32" | "f32")` of every field, in order.
type Fields = &'static [(&'static str, usize, &'static str)];

macro_rules! fields {
    ($ty:ty { $($field:ident: $t:literal),* $(,)? }) => {
        &[$((stringify!($field), offset_of!($ty, $field), $t)),*]
    };
}

const MODEL_DESC: Fields = fields!(ModelDesc {
    magic: "u32", version: "u32", max_batch: "u32", in_h: "u32", in_w: "u32", in_c: "u32",
    n_steps: "u32", steps_ptr: "u32", inputs_ptr: "u32", n_inputs: "u32",
});

const STEP_DESC: Fields = fields!(StepDesc {
    kind: "u32", first_input: "u32", n_inputs: "u32", units: "u32", size_h: "u32", size_w: "u32",
    stride_h: "u32", stride_w: "u32", padding: "u32", pad_top: "u32", pad_bottom: "u32", pad_left: "u32",
    pad_right: "u32", use_bias: "u32", alpha: "f32", max_value: "f32", momentum: "f32", epsilon: "f32",
    rate: "f32", regularize: "u32", ceil_mode: "u32", count_include_pad: "u32",
});

const TRAIN_DESC: Fields = fields!(TrainDesc {
    loss: "u32", label_smoothing: "f32", optimizer: "u32", momentum: "f32", nesterov: "u32",
    beta1: "f32", beta2: "f32", epsilon: "f32", weight_decay: "f32", l2_form: "u32", l2_lambda: "f32",
    clip_norm: "f32", class_weights_ptr: "u32", class_weights_len: "u32", frozen_ptr: "u32", frozen_len: "u32",
});

const STEP_ARGS: Fields = fields!(StepArgs {
    x_ptr: "u32", targets_kind: "u32", targets_ptr: "u32", batch: "u32", lr: "f32", step: "u32",
    seed_lo: "u32", seed_hi: "u32",
});

const STEP_STATS: Fields = fields!(StepStats { loss: "f32", penalty: "f32", correct: "u32", grad_norm: "f32", updated: "u32" });

const TENSOR_INFO: Fields = fields!(TensorInfo { step: "u32", role: "u32", buffer: "u32", offset: "u32", len: "u32" });

/// Every struct with its size; every field is 4 bytes, so each struct must be
/// exactly its fields (checked at compile time below).
const STRUCTS: &[(&str, usize, Fields)] = &[
    ("ModelDesc", size_of::<ModelDesc>(), MODEL_DESC),
    ("StepDesc", size_of::<StepDesc>(), STEP_DESC),
    ("TrainDesc", size_of::<TrainDesc>(), TRAIN_DESC),
    ("StepArgs", size_of::<StepArgs>(), STEP_ARGS),
    ("StepStats", size_of::<StepStats>(), STEP_STATS),
    ("TensorInfo", size_of::<TensorInfo>(), TENSOR_INFO),
];

const fn all_fields_listed() -> bool {
    let mut i = 0;
    while i < STRUCTS.len() {
        if STRUCTS[i].1 != STRUCTS[i].2.len() * 4 {
            return false;
        }
        i += 1;
    }
    true
}
const _: () = assert!(all_fields_listed(), "every ABI struct field must be listed in exec::abi");

/// The codes, by enum: `(enum, [(name, value)])`.
const CODES: &[(&str, &[(&str, u32)])] = &[
    (
        "StepKind",
        &[
            ("CONV2D", kind::CONV2D),
            ("DENSE", kind::DENSE),
            ("BATCH_NORM", kind::BATCH_NORM),
            ("RELU", kind::RELU),
            ("LEAKY_RELU", kind::LEAKY_RELU),
            ("SIGMOID", kind::SIGMOID),
            ("SOFTMAX", kind::SOFTMAX),
            ("MAX_POOL", kind::MAX_POOL),
            ("AVG_POOL", kind::AVG_POOL),
            ("GLOBAL_AVG_POOL", kind::GLOBAL_AVG_POOL),
            ("FLATTEN", kind::FLATTEN),
            ("DROPOUT", kind::DROPOUT),
            ("ADD", kind::ADD),
            ("CONCAT", kind::CONCAT),
            ("DEPTHWISE_CONV2D", kind::DEPTHWISE_CONV2D),
            ("ZERO_PAD", kind::ZERO_PAD),
            ("BOUNDED_RELU", kind::BOUNDED_RELU),
            ("AVERAGE", kind::AVERAGE),
            ("TANH", kind::TANH),
            ("SWISH", kind::SWISH),
            ("HARD_SIGMOID", kind::HARD_SIGMOID),
            ("HARD_SWISH", kind::HARD_SWISH),
            ("MULTIPLY", kind::MULTIPLY),
        ],
    ),
    ("Padding", &[("VALID", padding_code::VALID), ("SAME", padding_code::SAME), ("EXPLICIT", padding_code::EXPLICIT)]),
    ("Loss", &[("SOFTMAX_CROSS_ENTROPY", t::LOSS_SOFTMAX_CROSS_ENTROPY), ("BINARY_CROSS_ENTROPY", t::LOSS_BINARY_CROSS_ENTROPY)]),
    ("Optimizer", &[("SGD", t::OPTIMIZER_SGD), ("ADAM", t::OPTIMIZER_ADAM), ("ADAMW", t::OPTIMIZER_ADAMW)]),
    ("L2", &[("NONE", t::L2_NONE), ("KERAS", t::L2_KERAS), ("STUDY", t::L2_STUDY)]),
    (
        "Buffer",
        &[
            ("PARAMS", buffer_code::PARAMS),
            ("STATE", buffer_code::STATE),
            ("GRADS", buffer_code::GRADS),
            ("SLOT1", buffer_code::SLOT1),
            ("SLOT2", buffer_code::SLOT2),
        ],
    ),
    (
        "Role",
        &[
            ("KERNEL", Role::Kernel as u32),
            ("BIAS", Role::Bias as u32),
            ("GAMMA", Role::Gamma as u32),
            ("BETA", Role::Beta as u32),
            ("MOVING_MEAN", Role::MovingMean as u32),
            ("MOVING_VARIANCE", Role::MovingVariance as u32),
        ],
    ),
    ("Targets", &[("LABELS", t::TARGETS_LABELS), ("DENSE", t::TARGETS_DENSE)]),
    ("Magic", &[("MODEL_DESC_MAGIC", super::spec::MODEL_DESC_MAGIC), ("MODEL_DESC_VERSION", super::spec::MODEL_DESC_VERSION)]),
];

/// The ABI as JSON: `{"structs": {name: {"size", "fields": [[name, offset, type]]}}, "codes": {enum: {name: value}}}`.
pub fn describe() -> String {
    let structs: Vec<String> = STRUCTS
        .iter()
        .map(|(name, size, fields)| {
            let f: Vec<String> = fields.iter().map(|(n, o, t)| format!("[\"{n}\",{o},\"{t}\"]")).collect();
            format!("\"{name}\":{{\"size\":{size},\"fields\":[{}]}}", f.join(","))
        })
        .collect();
    let codes: Vec<String> = CODES
        .iter()
        .map(|(name, values)| {
            let v: Vec<String> = values.iter().map(|(n, c)| format!("\"{n}\":{c}")).collect();
            format!("\"{name}\":{{{}}}", v.join(","))
        })
        .collect();
    format!("{{\"structs\":{{{}}},\"codes\":{{{}}}}}", structs.join(","), codes.join(","))
}
