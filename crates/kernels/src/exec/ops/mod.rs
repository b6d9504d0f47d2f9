//! The executor's steps: one module per op kind, each implementing [`Op`]
//! (shape inference and tensor placement at planning, scratch needs, forward,
//! backward), its planned state inside its own struct. [`Step`] is the one
//! enum over them; adding an op is one module, one variant in `steps!` and
//! one arm in `Step::plan`.

mod absorbed;
mod activation;
mod batchnorm;
mod conv;
mod dense;
mod depthwise;
mod dropout;
mod merge;
mod pad;
mod pool;
mod reshape;

pub use batchnorm::BatchNormFold;

use super::spec::StepSpec;
use crate::gemm::Clamp;
use crate::error::KernelError;
use crate::optim::ParamRange;

/// Per-sample activation shape (NHWC without N). Flat tensors are `[1, 1, c]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape3 {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Shape3 {
    /// Elements per sample; saturates instead of wrapping, so an absurd shape
    /// fails at allocation with a clear error rather than aliasing memory.
    pub fn size(&self) -> usize {
        self.h.saturating_mul(self.w).saturating_mul(self.c)
    }
    pub fn nhwc(&self, n: usize) -> [usize; 4] {
        [n, self.h, self.w, self.c]
    }
    pub fn is_flat(&self) -> bool {
        self.h == 1 && self.w == 1
    }
}

impl std::fmt::Display for Shape3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[batch, {}, {}, {}]", self.h, self.w, self.c)
    }
}

/// What a tensor is, reported to TypeScript for naming (`layers.3.kernel`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Kernel = 1,
    Bias = 2,
    Gamma = 3,
    Beta = 4,
    MovingMean = 5,
    MovingVariance = 6,
}

/// Which flat buffer a tensor lives in: trained parameters, or state that
/// training updates without gradients (BatchNorm's moving statistics).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferKind {
    Params = 1,
    State = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tensor {
    pub step: usize,
    pub role: Role,
    pub buffer: BufferKind,
    pub range: ParamRange,
}

/// Bump allocator for offsets into the model's flat buffers.
#[derive(Default)]
pub struct Offsets {
    pub params: usize,
    pub state: usize,
    pub aux: usize,
    pub argmax: usize,
}

impl Offsets {
    pub fn params(&mut self, len: usize) -> ParamRange {
        take(&mut self.params, len)
    }
    pub fn state(&mut self, len: usize) -> ParamRange {
        take(&mut self.state, len)
    }
    pub fn aux(&mut self, len: usize) -> ParamRange {
        take(&mut self.aux, len)
    }
}

fn take(next: &mut usize, len: usize) -> ParamRange {
    let r = ParamRange { offset: *next, len };
    *next += len;
    r
}

/// Forward-pass mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Batch statistics, active dropout (seeded per step).
    Train { seed: u64, step: u64 },
    /// Moving statistics, no dropout.
    Infer,
}

/// What planning a step knows: its index, input shapes, the largest batch
/// and the offsets of the model's flat buffers.
pub struct Plan<'a> {
    pub index: usize,
    pub inputs: &'a [Shape3],
    pub max_batch: usize,
    pub off: &'a mut Offsets,
}

impl Plan<'_> {
    /// The single input of a one-input step.
    pub fn input(&self) -> Shape3 {
        self.inputs[0]
    }
    /// Prefixes a kernel error with the step.
    pub fn ctx(&self) -> impl Fn(KernelError) -> KernelError + '_ {
        move |e| KernelError { message: format!("step {}: {}", self.index, e.message), ..e }
    }
    pub fn error(&self, msg: impl std::fmt::Display) -> KernelError {
        KernelError::geometry(format!("step {}: {msg}", self.index))
    }
}

/// The buffers a step's forward pass reads and writes. Each input slice holds
/// at least `batch` samples of its shape; `y` exactly `batch` output samples.
pub struct FwdIo<'a> {
    pub batch: usize,
    pub step: usize,
    pub xs: &'a [&'a [f32]],
    pub y: &'a mut [f32],
    pub params: &'a [f32],
    pub state: &'a mut [f32],
    pub aux: &'a mut [f32],
    pub argmax: &'a mut [u32],
    pub scratch: &'a mut [f32],
    pub mode: Mode,
    /// Keras' `trainable = false`: BatchNormalization then runs in inference mode.
    pub frozen: bool,
    /// Whether a backward pass may follow and read what this forward records
    /// for it (max pooling's argmax indices): false for an inference pass that
    /// keeps only the output, which then skips the recording.
    pub backward_follows: bool,
}

/// The buffers a step's backward pass reads and writes. `dxs[i] = None` skips
/// input `i`'s gradient (nothing below needs it); each given `dxs[i]` is
/// overwritten. Parameter gradients are written (this step's ranges
/// overwritten) only when `param_grads` is set.
pub struct BwdIo<'a> {
    pub batch: usize,
    pub step: usize,
    pub xs: &'a [&'a [f32]],
    pub y: &'a [f32],
    pub dy: &'a [f32],
    pub dxs: &'a mut [Option<&'a mut [f32]>],
    pub param_grads: bool,
    pub params: &'a [f32],
    /// This step's parameter gradients only: its parameter tensors' span
    /// (`Step::param_span`, contiguous, in tensor order), indexed from the
    /// span's start; empty when `param_grads` is not set. The model keeps
    /// gradients for trainable steps only (see exec/model.rs).
    pub grads: &'a mut [f32],
    pub state: &'a [f32],
    pub aux: &'a [f32],
    pub argmax: &'a [u32],
    pub scratch: &'a mut [f32],
    pub mode: Mode,
    pub frozen: bool,
}

/// What a step's backward pass reads besides `dy`, so planning knows which
/// activations must outlive the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackwardReads {
    pub inputs: bool,
    pub output: bool,
}

/// One op kind's planned step.
pub trait Op {
    fn output(&self) -> Shape3;
    /// The kernel and bias of a step that has them (convolutions, Dense).
    fn kernel_tensors(&self) -> Option<&KernelTensors> {
        None
    }
    /// Tensors the step owns, in order (params first, then state).
    fn tensors(&self) -> Vec<(Role, BufferKind, ParamRange)> {
        self.kernel_tensors().map(KernelTensors::tensors).unwrap_or_default()
    }
    /// Scratch elements needed at batch `n` (forward and backward).
    fn scratch_len(&self, _n: usize) -> Result<usize, KernelError> {
        Ok(0)
    }
    /// Rough size of one sample's forward pass (multiply-adds or elements);
    /// decides whether a call is worth the thread pool.
    fn forward_work(&self) -> f64;
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: true, output: false }
    }
    /// The backward pass must be given an input gradient sink even when
    /// nothing below needs it (BatchNorm's kernel computes both at once).
    fn needs_dx_sink(&self) -> bool {
        false
    }
    /// The output is the input's buffer, unchanged (Flatten).
    fn aliases_input(&self) -> bool {
        false
    }
    /// The kernel AdamW's decoupled decay applies to (convolutions, Dense).
    fn kernel(&self) -> Option<ParamRange> {
        self.kernel_tensors().map(|t| t.weight)
    }
    /// The kernel when it carries the L2 penalty.
    fn penalized(&self) -> Option<ParamRange> {
        self.kernel_tensors().and_then(KernelTensors::penalized)
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError>;
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError>;
}

macro_rules! steps {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// A planned step of any kind.
        #[derive(Debug, Clone)]
        pub enum Step { $($variant($ty)),* }

        impl Step {
            fn op(&self) -> &dyn Op {
                match self { $(Step::$variant(s) => s),* }
            }
        }
    };
}

steps! {
    Conv2d(conv::Conv2d),
    Depthwise(depthwise::Depthwise),
    Dense(dense::Dense),
    BatchNorm(batchnorm::BatchNorm),
    Activation(activation::Activation),
    Softmax(activation::Softmax),
    Pool(pool::Pool),
    GlobalAvgPool(pool::GlobalAvgPool),
    Flatten(reshape::Flatten),
    Dropout(dropout::Dropout),
    Add(merge::Elementwise),
    Average(merge::Elementwise),
    Multiply(merge::Multiply),
    Concat(merge::Concat),
    ZeroPad(pad::ZeroPad),
    Absorbed(absorbed::Absorbed),
}

impl Step {
    /// Infers the output shape from the input shapes, validates the geometry
    /// and places the step's tensors.
    pub fn plan(spec: StepSpec, p: &mut Plan<'_>) -> Result<Self, KernelError> {
        use activation::Kind;
        Ok(match spec {
            StepSpec::Conv2d { .. } => Step::Conv2d(conv::Conv2d::plan(spec, p)?),
            StepSpec::DepthwiseConv2d { .. } => Step::Depthwise(depthwise::Depthwise::plan(spec, p)?),
            StepSpec::Dense { units, use_bias, regularized } => Step::Dense(dense::Dense::plan(units, use_bias, regularized, p)?),
            StepSpec::BatchNorm(params) => Step::BatchNorm(batchnorm::BatchNorm::plan(params, p)),
            StepSpec::Relu => Step::Activation(activation::Activation::plan(Kind::Relu, p)),
            StepSpec::BoundedRelu { max } => Step::Activation(activation::Activation::plan(Kind::BoundedRelu { max }, p)),
            StepSpec::LeakyRelu { alpha } => Step::Activation(activation::Activation::plan(Kind::LeakyRelu { alpha }, p)),
            StepSpec::Sigmoid => Step::Activation(activation::Activation::plan(Kind::Sigmoid, p)),
            StepSpec::Tanh => Step::Activation(activation::Activation::plan(Kind::Tanh, p)),
            StepSpec::Swish => Step::Activation(activation::Activation::plan(Kind::Swish, p)),
            StepSpec::HardSigmoid => Step::Activation(activation::Activation::plan(Kind::HardSigmoid, p)),
            StepSpec::HardSwish => Step::Activation(activation::Activation::plan(Kind::HardSwish, p)),
            StepSpec::Softmax => Step::Softmax(activation::Softmax::plan(p)?),
            StepSpec::MaxPool { .. } | StepSpec::AvgPool { .. } => Step::Pool(pool::Pool::plan(spec, p)?),
            StepSpec::GlobalAvgPool => Step::GlobalAvgPool(pool::GlobalAvgPool::plan(p)),
            StepSpec::Flatten => Step::Flatten(reshape::Flatten::plan(p)),
            StepSpec::Dropout { rate } => Step::Dropout(dropout::Dropout::plan(rate, p)),
            StepSpec::Add => Step::Add(merge::Elementwise::add(p)?),
            StepSpec::Average => Step::Average(merge::Elementwise::average(p)?),
            StepSpec::Multiply => Step::Multiply(merge::Multiply::plan(p)?),
            StepSpec::Concat => Step::Concat(merge::Concat::plan(p)?),
            StepSpec::ZeroPad { top, bottom, left, right } => Step::ZeroPad(pad::ZeroPad::plan([top, bottom, left, right], p)?),
        })
    }

    pub fn output(&self) -> Shape3 {
        self.op().output()
    }
    pub fn tensors(&self) -> Vec<(Role, BufferKind, ParamRange)> {
        self.op().tensors()
    }
    pub fn scratch_len(&self, n: usize) -> Result<usize, KernelError> {
        self.op().scratch_len(n)
    }
    pub fn forward_work(&self) -> f64 {
        self.op().forward_work()
    }
    pub fn backward_reads(&self) -> BackwardReads {
        self.op().backward_reads()
    }
    pub fn needs_dx_sink(&self) -> bool {
        self.op().needs_dx_sink()
    }
    pub fn aliases_input(&self) -> bool {
        self.op().aliases_input()
    }
    pub fn kernel(&self) -> Option<ParamRange> {
        self.op().kernel()
    }
    pub fn penalized(&self) -> Option<ParamRange> {
        self.op().penalized()
    }
    /// Whether the step owns trainable parameters.
    pub fn kernel_tensors(&self) -> Option<&KernelTensors> {
        self.op().kernel_tensors()
    }
    pub fn has_params(&self) -> bool {
        self.tensors().iter().any(|t| t.1 == BufferKind::Params)
    }
    /// The range of the parameter buffer the step's parameters occupy (they
    /// are placed contiguously, in tensor order); None without parameters.
    pub fn param_span(&self) -> Option<ParamRange> {
        let params: Vec<ParamRange> = self.tensors().into_iter().filter(|t| t.1 == BufferKind::Params).map(|t| t.2).collect();
        let first = params.first()?;
        let len = params.iter().map(|r| r.len).sum();
        debug_assert!(params.windows(2).all(|w| w[0].end() == w[1].offset), "a step's parameters are contiguous");
        Some(ParamRange { offset: first.offset, len })
    }
    pub fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        self.op().forward(io)
    }
    pub fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        self.op().backward(io)
    }
    /// For fused inference: the step as a BatchNorm's fold source, a ReLU's
    /// clamp, or a producer that can take both (see exec/fusion.rs).
    pub fn fusion_role(&self) -> FusionRole {
        match self {
            Step::Conv2d(_) | Step::Dense(_) => FusionRole::Producer { epilogue: true },
            Step::Depthwise(_) => FusionRole::Producer { epilogue: false },
            Step::BatchNorm(bn) => FusionRole::BatchNorm(bn.fold()),
            Step::Activation(a) => a.clamp().map_or(FusionRole::None, FusionRole::Clamp),
            _ => FusionRole::None,
        }
    }

    /// A producer running with `tensors` (folded, or its own) and `clamp` in
    /// its epilogue; None for a step that is no producer, or a clamp it
    /// cannot run.
    pub fn fused(&self, tensors: KernelTensors, clamp: Clamp) -> Option<Step> {
        match self {
            Step::Conv2d(c) => Some(Step::Conv2d(c.fused(tensors, clamp))),
            Step::Dense(d) => Some(Step::Dense(d.fused(tensors, clamp))),
            Step::Depthwise(d) if clamp == Clamp::None => Some(Step::Depthwise(d.fused(tensors))),
            _ => None,
        }
    }

    /// A step whose work its producer does (fused inference): an alias of its input.
    pub fn absorbed(shape: Shape3) -> Step {
        Step::Absorbed(absorbed::Absorbed { shape })
    }

    /// The fused-loss candidates: a final Softmax (cross-entropy) or Sigmoid (BCE).
    pub fn is_softmax(&self) -> bool {
        matches!(self, Step::Softmax(_))
    }
    pub fn is_sigmoid(&self) -> bool {
        matches!(self, Step::Activation(a) if a.kind == activation::Kind::Sigmoid)
    }
    /// An elementwise mean (the output of an ensemble when it averages probabilities).
    pub fn is_average(&self) -> bool {
        matches!(self, Step::Average(_))
    }

    /// For the training fusion (exec/train_fusion.rs): a BatchNorm with the
    /// plain ReLU `relu` that reads its output run inside it; None for any
    /// other pair.
    pub fn with_fused_relu(&self, relu: &Step) -> Option<Step> {
        match (self, relu) {
            (Step::BatchNorm(bn), Step::Activation(a)) if a.kind == activation::Kind::Relu => Some(Step::BatchNorm(bn.with_relu())),
            _ => None,
        }
    }
}

/// What a step can be in a fused inference group.
#[derive(Debug, Clone, Copy)]
pub enum FusionRole {
    None,
    /// Computes channels through kernel and bias (convolutions, Dense);
    /// `epilogue`: can also apply a clamp as it stores its outputs.
    Producer { epilogue: bool },
    BatchNorm(batchnorm::BatchNormFold),
    Clamp(Clamp),
}

/// The kernel and optional bias of a step that has them (convolutions,
/// Dense), with whether the kernel carries the model's L2 penalty.
#[derive(Debug, Clone, Copy)]
pub struct KernelTensors {
    pub weight: ParamRange,
    pub bias: Option<ParamRange>,
    pub regularized: bool,
}

impl KernelTensors {
    /// Places a kernel of `len` values and, with `use_bias`, `bias_len` bias values.
    pub fn place(off: &mut Offsets, len: usize, bias_len: usize, use_bias: bool, regularized: bool) -> Self {
        let weight = off.params(len);
        let bias = use_bias.then(|| off.params(bias_len));
        Self { weight, bias, regularized }
    }
    pub fn tensors(&self) -> Vec<(Role, BufferKind, ParamRange)> {
        let mut t = vec![(Role::Kernel, BufferKind::Params, self.weight)];
        t.extend(self.bias.map(|b| (Role::Bias, BufferKind::Params, b)));
        t
    }
    pub fn penalized(&self) -> Option<ParamRange> {
        self.regularized.then_some(self.weight)
    }
    pub fn kernel<'a>(&self, params: &'a [f32]) -> &'a [f32] {
        slice(params, self.weight)
    }
    pub fn bias<'a>(&self, params: &'a [f32]) -> Option<&'a [f32]> {
        self.bias.map(|r| slice(params, r))
    }
    /// The kernel's and bias' gradients, split from the step's gradients
    /// (`BwdIo::grads`: the bias follows the kernel).
    pub fn grads<'a>(&self, grads: &'a mut [f32]) -> (&'a mut [f32], Option<&'a mut [f32]>) {
        kernel_and_bias_grads(grads, self.weight, self.bias)
    }
}

/// `[offset, offset + len)` of a flat buffer.
pub(crate) fn slice(buf: &[f32], r: ParamRange) -> &[f32] {
    &buf[r.offset..r.end()]
}

/// Kernel and optional bias gradients of one step, split from its gradients
/// (which start at the kernel; the bias follows it).
pub(crate) fn kernel_and_bias_grads(grads: &mut [f32], w: ParamRange, b: Option<ParamRange>) -> (&mut [f32], Option<&mut [f32]>) {
    let (dw, tail) = grads.split_at_mut(w.len);
    let db = b.map(|r| {
        debug_assert!(r.offset >= w.end());
        &mut tail[r.offset - w.end()..r.end() - w.end()]
    });
    (dw, db)
}
