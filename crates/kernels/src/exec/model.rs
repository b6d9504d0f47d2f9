//! A planned model: a graph of steps with their shapes, and every buffer a
//! training step or an inference batch touches. Parameters are one contiguous
//! buffer; gradients and each optimizer slot are one compact buffer each,
//! holding the trainable parameters only (see `trainable`), allocated at the
//! first training step (or when the optimizer state is restored), never for a
//! model that only runs inference. Activations and activation gradients live
//! in two arenas placed by the schedule of each kind of call (see `graph`).

use std::sync::Arc;

use super::fusion::Fusion;
use super::graph::{Graph, Purpose, Schedule, Sink, ValueId};
use super::ops::{BwdIo, FwdIo, Mode, Offsets, Plan, Shape3, Step, Tensor};
use super::profile::{now_ms, Direction, StepTimes};
use super::spec::{Arity, L2, LossKind, OptimizerKind, StepNode, StepSpec, TrainSpec};
use super::train_fusion;
use super::trainable::TrainableLayout;
use crate::error::{ErrorCode, KernelError};
use crate::loss::{binary_cross_entropy, probability_cross_entropy, softmax_cross_entropy, BceParams, SoftmaxCeParams, Targets};
use crate::optim::{self, L2Form, ParamRange, WeightDecay};

/// Targets of one training batch.
#[derive(Debug, Clone, Copy)]
pub enum StepTargets<'a> {
    /// One class index per sample.
    Labels(&'a [u32]),
    /// One row of `classes` probabilities (or a single 0/1 value for BCE) per sample.
    Dense(&'a [f32]),
}

/// Outcome of one training step.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepStats {
    /// Mean data loss over the batch (class-weighted), without the penalty.
    pub loss: f32,
    /// The L2 penalty added to the loss (0 without L2).
    pub penalty: f32,
    /// Samples whose arg-max prediction matched the target.
    pub correct: u32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// 1 when the weights were updated; 0 when the gradients were not finite
    /// (then the weights are left as they were).
    pub updated: u32,
}

/// Largest batch a model can be planned for.
pub const MAX_BATCH: usize = 1 << 16;

/// What the value a loss reads holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadForm {
    /// The input of a final Softmax or Sigmoid that the loss fuses.
    FusedActivation,
    /// Probabilities no final Softmax produced: an Average of Softmax outputs
    /// (`loss::probability_cross_entropy`).
    Probabilities,
    /// Any other output, read as logits.
    Logits,
}

/// The training configuration and what follows from it.
struct Training {
    spec: TrainSpec,
    class_weights: Vec<f32>,
    frozen: Vec<bool>,
    /// Where the trainable parameters' gradients and optimizer slots live.
    layout: TrainableLayout,
    /// Trainable kernels with the L2 penalty, and all trainable kernels
    /// (AdamW's decay), in the parameter buffer.
    penalized: Vec<ParamRange>,
    kernels: Vec<ParamRange>,
    /// The training graph with its trainable BatchNorm → ReLU pairs fused
    /// (see `train_fusion`; None: nothing fuses, training runs the model's
    /// graph), and the training schedule of that graph.
    relu_fused: Option<Graph>,
    schedule: Arc<Schedule>,
    /// The training graph (`relu_fused`, else the model's) fused over the
    /// frozen prefix, with its training schedule (None when no group of the
    /// prefix fuses; see `fusion`).
    fused: Option<Fusion>,
}

impl Training {
    /// The schedule and graph a training step runs.
    fn pass(&self) -> (Arc<Schedule>, Pass) {
        match (&self.fused, &self.relu_fused) {
            (Some(f), _) => (f.schedule.clone(), Pass::Tuned),
            (None, Some(_)) => (self.schedule.clone(), Pass::Train),
            (None, None) => (self.schedule.clone(), Pass::Model),
        }
    }
}

/// Which graph a pass ran: the model's own, the fused inference graph, the
/// training graph with BatchNorm → ReLU fused (see `train_fusion`), or that
/// graph fused over the frozen prefix too (see `fusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Model,
    Fused,
    Train,
    Tuned,
}

/// The graph `pass` runs (field by field, so the caller may still borrow the
/// model's other buffers mutably).
fn pass_graph<'a>(graph: &'a Graph, inference: &'a Option<Fusion>, train: &'a Option<Training>, pass: Pass) -> &'a Graph {
    match pass {
        Pass::Train => train.as_ref().and_then(|t| t.relu_fused.as_ref()).unwrap_or(graph),
        _ => fusion_of(pass, inference, train).map_or(graph, |f| &f.graph),
    }
}

/// The fused graph of `pass`, if it has one (field by field, so the caller
/// may still borrow the model's other buffers mutably).
fn fusion_of<'a>(pass: Pass, inference: &'a Option<Fusion>, train: &'a Option<Training>) -> Option<&'a Fusion> {
    match pass {
        Pass::Model | Pass::Train => None,
        Pass::Fused => inference.as_ref(),
        Pass::Tuned => train.as_ref().and_then(|t| t.fused.as_ref()),
    }
}

/// Which activations the arena holds after the last forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// Only the model's output (and the loss head) is meaningful.
    Output,
    /// Every step's output (feature maps, Grad-CAM).
    All,
}

pub struct Model {
    pub input: Shape3,
    /// The steps as described: re-planning for another batch size plans them again.
    nodes: Vec<StepNode>,
    pub max_batch: usize,
    pub graph: Graph,
    pub params: Vec<f32>,
    /// Gradients of the trainable parameters, compact (see `trainable`);
    /// empty until the first training step.
    pub grads: Vec<f32>,
    /// Optimizer slots, compact like `grads`: SGD velocity or Adam first
    /// moment, and Adam second moment (empty when the optimizer keeps none).
    pub slot1: Vec<f32>,
    pub slot2: Vec<f32>,
    /// Non-trained state (BatchNorm moving statistics).
    pub state: Vec<f32>,
    aux: Vec<f32>,
    argmax: Vec<u32>,
    /// Activation arena and activation-gradient arena (see `graph`).
    acts: Vec<f32>,
    grad_acts: Vec<f32>,
    grad_tmp: Vec<f32>,
    scratch: Vec<f32>,
    targets_f32: Vec<f32>,
    sizes: BatchSizes,
    /// Gradient left by `backward_from` (w.r.t. the stop step's output);
    /// allocated by the first `backward_from` (Grad-CAM), not by training.
    pub backward_result: Vec<f32>,
    infer: Arc<Schedule>,
    inspect: Option<Arc<Schedule>>,
    /// Fused inference (None when no step fuses).
    fusion: Option<Fusion>,
    /// The placement the arena's contents follow, what it holds, and which graph wrote it.
    current: Option<(Arc<Schedule>, Kept, Pass)>,
    train: Option<Training>,
    /// Whether `configure` plans the training fusion (on; tests turn it off
    /// to compare against the unfused graph).
    pub(crate) fuse_training: bool,
    /// Per-step times while profiling is on (see `profile`).
    profile: Option<StepTimes>,
}

/// A zero-filled buffer, or an error (not an abort) when it cannot be had:
/// a model description may ask for more memory than the engine can give.
fn zeroed(len: Option<usize>, what: &str) -> Result<Vec<f32>, KernelError> {
    let mut v = Vec::new();
    grow(&mut v, len, what)?;
    Ok(v)
}

/// Grows `v` (zero-filled) to at least `len` elements.
pub(super) fn grow(v: &mut Vec<f32>, len: Option<usize>, what: &str) -> Result<(), KernelError> {
    let len = len.ok_or_else(|| KernelError { code: ErrorCode::OutOfMemory, message: format!("model: {what} size overflows") })?;
    if v.len() >= len {
        return Ok(());
    }
    v.try_reserve_exact(len - v.len()).map_err(|_| KernelError {
        code: ErrorCode::OutOfMemory,
        message: format!("model: cannot allocate {what} ({len} values, {} bytes)", (len - v.len()).saturating_mul(4)),
    })?;
    v.resize(len, 0.0);
    Ok(())
}

/// Makes `v` at least `len` long without keeping its contents (arenas,
/// scratch): one too small is freed before the larger one is taken, so the two
/// never coexist in an engine whose memory only grows.
fn fresh(v: &mut Vec<f32>, len: usize, what: &str) -> Result<(), KernelError> {
    if v.len() < len {
        *v = Vec::new();
    }
    grow(v, Some(len), what)
}

fn zeroed_u32(len: usize) -> Result<Vec<u32>, KernelError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| KernelError { code: ErrorCode::OutOfMemory, message: format!("model: cannot allocate max-pool indices ({len} values)") })?;
    v.resize(len, 0);
    Ok(v)
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("input", &self.input)
            .field("max_batch", &self.max_batch)
            .field("steps", &self.graph.steps.len())
            .field("params", &self.params.len())
            .finish_non_exhaustive()
    }
}

/// Views into one arena that the schedule placed disjointly: read-only
/// ranges and mutable ones, as `(offset, len)`. Errors (never aliases) if a
/// range leaves the arena, two written ranges overlap, or a written range
/// overlaps a read one; read ranges may share memory with each other.
fn arena_views<'a>(arena: &'a mut [f32], reads: &[(usize, usize)], writes: &[(usize, usize)]) -> Result<(Vec<&'a [f32]>, Vec<&'a mut [f32]>), KernelError> {
    let overlaps = |a: &(usize, usize), b: &(usize, usize)| a.0 < b.0 + b.1 && b.0 < a.0 + a.1;
    let outside = reads.iter().chain(writes).any(|r| r.0 + r.1 > arena.len());
    let clash = writes.iter().enumerate().any(|(i, w)| reads.iter().chain(&writes[i + 1..]).any(|r| overlaps(w, r)));
    if outside || clash {
        return Err(KernelError::value("model: internal error: planned buffers overlap"));
    }
    let base = arena.as_mut_ptr();
    // SAFETY: every range lies inside the arena, and each written range
    // overlaps no other range (checked above).
    unsafe {
        let ins = reads.iter().map(|&(o, l)| std::slice::from_raw_parts(base.add(o) as *const f32, l)).collect();
        let outs = writes.iter().map(|&(o, l)| std::slice::from_raw_parts_mut(base.add(o), l)).collect();
        Ok((ins, outs))
    }
}

/// A model's plan for batches of up to `max_batch`: its graph, the inference
/// placement, and the sizes of the buffers that depend on the batch. Planning
/// allocates none of the model's large buffers, so a model can re-plan for
/// another batch size in place, keeping its weights and optimizer state.
struct Planned {
    max_batch: usize,
    graph: Graph,
    infer: Arc<Schedule>,
    fusion: Option<Fusion>,
    sizes: BatchSizes,
}

/// Lengths of the buffers whose size the plan decides besides the arenas.
#[derive(Debug, Clone, Copy, Default)]
struct BatchSizes {
    aux: usize,
    /// Max-pool indices of the largest batch.
    argmax: usize,
    scratch: usize,
}

impl Planned {
    /// Infers and validates every shape and places every tensor.
    /// Also returns the offsets the planning reached (the buffer lengths).
    fn new(input: Shape3, max_batch: usize, nodes: &[StepNode]) -> Result<(Self, Offsets), KernelError> {
        if max_batch == 0 || max_batch > MAX_BATCH {
            return Err(KernelError::geometry(format!("model: max_batch must be in 1..={MAX_BATCH}, got {max_batch}")));
        }
        if nodes.is_empty() {
            return Err(KernelError::geometry("model: needs at least one step"));
        }
        if input.size() == 0 {
            return Err(KernelError::geometry(format!("model: input shape [{}, {}, {}] has a zero dimension", input.h, input.w, input.c)));
        }
        let mut off = Offsets::default();
        let mut shapes = vec![input];
        let mut steps = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            if let Some(&v) = node.inputs.iter().find(|&&v| v > i) {
                return Err(KernelError::geometry(format!("step {i}: reads value {v}, which is not computed before it (values 0..={i} are)")));
            }
            match (node.spec.arity(), node.inputs.len()) {
                (Arity::One, 1) => {}
                (Arity::AtLeastTwo, n) if n >= 2 => {}
                (Arity::One, n) => return Err(KernelError::geometry(format!("step {i}: {:?} reads exactly 1 input, got {n}", node.spec))),
                (Arity::AtLeastTwo, n) => return Err(KernelError::geometry(format!("step {i}: {:?} needs at least 2 inputs, got {n}", node.spec))),
            }
            let in_shapes: Vec<Shape3> = node.inputs.iter().map(|&v| shapes[v]).collect();
            let step = Step::plan(node.spec, &mut Plan { index: i, inputs: &in_shapes, max_batch, off: &mut off })?;
            shapes.push(step.output());
            steps.push(step);
        }
        let mut scratch = 0;
        for step in &steps {
            // Scratch needs are not always monotonic in the batch: take the max.
            for n in 1..=max_batch {
                scratch = scratch.max(step.scratch_len(n)?);
            }
        }
        let graph = Graph::new(steps, nodes.iter().map(|n| n.inputs.clone()).collect(), shapes, max_batch);
        let last = graph.len();
        let head = Model::fused_head(&graph).unwrap_or(last);
        let infer = Arc::new(graph.schedule(Purpose::Forward { keep_all: false, head })?);
        let fusion = Fusion::plan(&graph, &[last, head], &vec![true; last], Purpose::Forward { keep_all: false, head })?;
        let sizes = BatchSizes { aux: off.aux, argmax: off.argmax, scratch };
        Ok((Self { max_batch, graph, infer, fusion, sizes }, off))
    }
}

impl Model {
    /// Plans a model: infers and validates every shape, places every tensor,
    /// and allocates the buffers for batches of up to `max_batch`.
    pub fn new(input: Shape3, max_batch: usize, nodes: &[StepNode]) -> Result<Self, KernelError> {
        let (planned, off) = Planned::new(input, max_batch, nodes)?;
        let mut model = Self {
            input,
            nodes: nodes.to_vec(),
            max_batch,
            params: zeroed(Some(off.params), "params")?,
            grads: Vec::new(),
            slot1: Vec::new(),
            slot2: Vec::new(),
            state: zeroed(Some(off.state), "state")?,
            aux: Vec::new(),
            argmax: Vec::new(),
            acts: Vec::new(),
            grad_acts: Vec::new(),
            grad_tmp: Vec::new(),
            scratch: Vec::new(),
            targets_f32: Vec::new(),
            backward_result: Vec::new(),
            infer: planned.infer,
            inspect: None,
            fusion: planned.fusion,
            current: None,
            train: None,
            fuse_training: true,
            profile: None,
            graph: planned.graph,
            sizes: planned.sizes,
        };
        model.allocate_batch_buffers()?;
        Ok(model)
    }

    /// Re-plans for batches of up to `max_batch` in place: the parameters,
    /// moving statistics, gradients and optimizer slots stay where they are
    /// (so no second copy of the model exists at any time); the buffers that
    /// depend on the batch are freed first and allocated for the new size.
    /// The training configuration is kept. On failure (out of memory) the
    /// model is planned for its previous batch size again.
    pub fn replan(&mut self, max_batch: usize) -> Result<(), KernelError> {
        let (planned, off) = Planned::new(self.input, max_batch, &self.nodes)?;
        if off.params != self.params.len() || off.state != self.state.len() {
            return Err(KernelError::value("model: internal error: re-planning moved the parameters"));
        }
        let previous = self.install(planned);
        let outcome = self.allocate_batch_buffers().and_then(|()| self.reconfigure());
        if let Err(e) = outcome {
            self.install(previous);
            // The previous sizes were just freed, so they are there to take again.
            self.allocate_batch_buffers()?;
            self.reconfigure()?;
            return Err(e);
        }
        Ok(())
    }

    /// Makes `planned` the model's plan and frees every buffer that depends
    /// on the batch (`allocate_batch_buffers` takes them again); returns the
    /// plan it replaced.
    fn install(&mut self, planned: Planned) -> Planned {
        let previous = Planned {
            max_batch: std::mem::replace(&mut self.max_batch, planned.max_batch),
            graph: std::mem::replace(&mut self.graph, planned.graph),
            infer: std::mem::replace(&mut self.infer, planned.infer),
            fusion: std::mem::replace(&mut self.fusion, planned.fusion),
            sizes: std::mem::replace(&mut self.sizes, planned.sizes),
        };
        for v in [&mut self.acts, &mut self.grad_acts, &mut self.grad_tmp, &mut self.scratch, &mut self.targets_f32, &mut self.aux, &mut self.backward_result] {
            *v = Vec::new();
        }
        self.argmax = Vec::new();
        self.inspect = None;
        self.current = None;
        previous
    }

    /// Allocates the buffers an inference batch needs under the current plan
    /// (training's own are grown by `prepare_training`, Grad-CAM's by `backward_from`).
    fn allocate_batch_buffers(&mut self) -> Result<(), KernelError> {
        let BatchSizes { aux, argmax, scratch } = self.sizes;
        grow(&mut self.aux, Some(aux), "aux")?;
        self.argmax = zeroed_u32(argmax)?;
        grow(&mut self.scratch, Some(scratch), "scratch")?;
        grow(&mut self.targets_f32, Some(self.max_batch), "targets_f32")?;
        grow(&mut self.acts, Some(self.infer.acts.len), "activations")
    }

    /// Plans the training configuration again on the current graph (after a
    /// re-plan). The trainable set is unchanged, so `configure` keeps the
    /// gradients and optimizer slots.
    fn reconfigure(&mut self) -> Result<(), KernelError> {
        let Some(tr) = &self.train else { return Ok(()) };
        let (spec, class_weights, frozen) = (tr.spec, tr.class_weights.clone(), tr.frozen.clone());
        self.configure(spec, &class_weights, &frozen)
    }

    /// A chain: step `i` reads the output of step `i - 1` (the first reads the input).
    pub fn chain(input: Shape3, max_batch: usize, specs: &[StepSpec]) -> Result<Self, KernelError> {
        let nodes: Vec<StepNode> = specs.iter().enumerate().map(|(i, &spec)| StepNode { spec, inputs: vec![i] }).collect();
        Self::new(input, max_batch, &nodes)
    }

    pub fn steps(&self) -> &[Step] {
        &self.graph.steps
    }

    pub fn output(&self) -> Shape3 {
        self.graph.shapes[self.graph.len()]
    }

    /// Per-sample output shape of step `i`.
    pub fn step_output(&self, i: usize) -> Option<Shape3> {
        self.graph.shapes.get(i + 1).copied().filter(|_| i < self.graph.len())
    }

    /// Every tensor, in step order (params, then state, per step).
    pub fn tensors(&self) -> Vec<Tensor> {
        self.graph
            .steps
            .iter()
            .enumerate()
            .flat_map(|(step, s)| s.tensors().into_iter().map(move |(role, buffer, range)| Tensor { step, role, buffer, range }))
            .collect()
    }

    /// The value the loss reads when the last step is a Softmax or Sigmoid
    /// that the loss fuses (its input), if the last step is one.
    fn fused_head(g: &Graph) -> Option<ValueId> {
        let last = g.steps.last()?;
        (last.is_softmax() || last.is_sigmoid()).then(|| g.inputs[g.len() - 1][0])
    }

    /// Sets the loss, optimizer, regularization, class weights and frozen
    /// steps (`frozen` empty: every step trains).
    pub fn configure(&mut self, spec: TrainSpec, class_weights: &[f32], frozen: &[bool]) -> Result<(), KernelError> {
        let (head, classes, form) = self.loss_head(&spec.loss)?;
        let fused = form == HeadForm::FusedActivation;
        if !class_weights.is_empty() {
            let want = if classes == 1 { 2 } else { classes };
            if class_weights.len() != want {
                return Err(KernelError::value(format!("train: expected {want} class weights, got {}", class_weights.len())));
            }
            if let Some(w) = class_weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                return Err(KernelError::value(format!("train: class weights must be finite and >= 0, got {w}")));
            }
        }
        let n = self.graph.len();
        if !frozen.is_empty() && frozen.len() != n {
            return Err(KernelError::value(format!("train: expected {n} frozen flags (one per step), got {}", frozen.len())));
        }
        let frozen: Vec<bool> = if frozen.is_empty() { vec![false; n] } else { frozen.to_vec() };
        // BatchNorm → ReLU pairs of the trainable part fuse first; the frozen
        // prefix (below) fuses on that graph: the two never touch the same
        // steps (a frozen BatchNorm does not pair, a prefix step is frozen).
        let relu_fused = if self.fuse_training { train_fusion::plan(&self.graph, &frozen, &[n, head]) } else { None };
        let train_graph = relu_fused.as_ref().unwrap_or(&self.graph);
        let schedule = Arc::new(train_graph.schedule(Purpose::Train { head, fused_last: fused, frozen: &frozen })?);
        let trainable = |s: usize| !frozen[s];
        let steps = &self.graph.steps;
        let layout = TrainableLayout::plan(steps, &frozen, &spec.optimizer);
        let penalized = (0..n).filter(|&s| trainable(s)).filter_map(|s| steps[s].penalized()).collect();
        let kernels = (0..n).filter(|&s| trainable(s)).filter_map(|s| steps[s].kernel()).collect();
        // Optimizer state is kept while the trainable set stays the same:
        // fit() reconfigures (class weights) between calls and training
        // continues where it stopped, as in Keras (a new compile() clears the
        // slots explicitly). Another trainable set changes what each compact
        // offset means: gradients and slots are dropped, and the next
        // training step allocates them zeroed for the new set.
        // The frozen prefix runs fused: nothing there needs a gradient.
        let up = self.graph.upstream_trainable(&frozen);
        let prefix: Vec<bool> = (0..n).map(|s| !up[s + 1]).collect();
        let fused = if prefix.iter().any(|&p| p) {
            Fusion::plan(train_graph, &[n, head], &prefix, Purpose::Train { head, fused_last: fused, frozen: &frozen })?
        } else {
            None
        };
        if self.train.as_ref().is_none_or(|t| t.layout.runs != layout.runs) {
            self.release_training_buffers();
        }
        self.train = Some(Training { spec, class_weights: class_weights.to_vec(), frozen, layout, penalized, kernels, relu_fused, schedule, fused });
        Ok(())
    }

    /// Frees the gradients, optimizer slots and activation gradients.
    fn release_training_buffers(&mut self) {
        for v in [&mut self.grads, &mut self.slot1, &mut self.slot2, &mut self.grad_acts, &mut self.grad_tmp] {
            *v = Vec::new();
        }
    }

    /// Allocates what a training step needs beyond inference (gradients,
    /// optimizer slots, activation gradients), zero-filled, if not yet done.
    /// A training step does it itself; restoring optimizer state calls it first.
    pub fn prepare_training(&mut self) -> Result<(), KernelError> {
        let tr = self.training("train")?;
        let (layout, (schedule, _)) = (&tr.layout, tr.pass());
        let (len, slot1, slot2) = (layout.len, layout.slot_len(1), layout.slot_len(2));
        // The arenas first: one that must grow is usually the newest block,
        // so freeing it lets the larger one start at the same address rather
        // than leave a hole below the gradients and slots.
        if self.acts.len() < schedule.acts.len {
            self.current = None; // the kept activations go with the smaller arena
        }
        fresh(&mut self.acts, schedule.acts.len, "activations")?;
        fresh(&mut self.grad_acts, schedule.grads.len, "activation gradients")?;
        fresh(&mut self.grad_tmp, schedule.tmp_len, "gradient accumulation")?;
        grow(&mut self.grads, Some(len), "gradients")?;
        grow(&mut self.slot1, Some(slot1), "optimizer slot 1")?;
        grow(&mut self.slot2, Some(slot2), "optimizer slot 2")
    }

    /// Groups the training step fuses in the frozen prefix (0: it runs unfused).
    pub fn fused_prefix_groups(&self) -> usize {
        self.train.as_ref().and_then(|t| t.fused.as_ref()).map_or(0, Fusion::groups)
    }

    /// Whether the training step's fused prefix will refold before its next
    /// step (tests: a step must not make it stale, only outside writes).
    #[cfg(any(test, feature = "selftest"))]
    pub(crate) fn fused_prefix_stale(&self) -> bool {
        self.train.as_ref().and_then(|t| t.fused.as_ref()).is_some_and(Fusion::is_stale)
    }

    /// The trainable parameter runs of the configured training, with their
    /// offsets in the compact gradient and slot buffers (empty before `configure`).
    pub fn trainable_runs(&self) -> &[super::trainable::TrainRun] {
        self.train.as_ref().map_or(&[], |t| &t.layout.runs)
    }

    /// Whether the model's output is an Average of Softmax outputs (an
    /// ensemble of classifiers): probabilities, not logits.
    fn outputs_averaged_probabilities(g: &Graph) -> bool {
        let n = g.len();
        g.steps[n - 1].is_average() && g.inputs[n - 1].iter().all(|&v| v > 0 && g.steps[v - 1].is_softmax())
    }

    /// The value the loss reads, the class count, and what that value holds
    /// (`HeadForm`): the input of a final Softmax (with cross-entropy) or
    /// Sigmoid (with binary cross-entropy) fused into the loss, an Average of
    /// Softmax outputs (probabilities), or else the output as logits.
    fn loss_head(&self, loss: &LossKind) -> Result<(ValueId, usize, HeadForm), KernelError> {
        let g = &self.graph;
        let last = g.steps.last().expect("a model has steps");
        let fused = match loss {
            LossKind::SoftmaxCrossEntropy { .. } => last.is_softmax(),
            LossKind::BinaryCrossEntropy { .. } => last.is_sigmoid(),
        };
        let form = if fused {
            HeadForm::FusedActivation
        } else if Self::outputs_averaged_probabilities(g) {
            if let LossKind::BinaryCrossEntropy { .. } = loss {
                return Err(KernelError::geometry("train: binary cross-entropy reads one sigmoid output or its logit; this model averages softmax outputs (use softmax cross-entropy)"));
            }
            HeadForm::Probabilities
        } else {
            HeadForm::Logits
        };
        let head = if fused { g.inputs[g.len() - 1][0] } else { g.len() };
        if head == 0 {
            return Err(KernelError::geometry("train: the model is only its output activation"));
        }
        let out = g.shapes[head];
        if !out.is_flat() {
            return Err(KernelError::geometry(format!(
                "train: the loss needs flat logits [batch, classes], got [batch, {}, {}, {}] from step {}",
                out.h,
                out.w,
                out.c,
                head - 1
            )));
        }
        match loss {
            LossKind::SoftmaxCrossEntropy { .. } if out.c < 2 => Err(KernelError::geometry(format!(
                "train: softmax cross-entropy needs >= 2 classes, the model outputs {} (use binary cross-entropy)",
                out.c
            ))),
            LossKind::BinaryCrossEntropy { .. } if out.c != 1 => {
                Err(KernelError::geometry(format!("train: binary cross-entropy needs 1 output, the model outputs {}", out.c)))
            }
            _ => Ok((head, out.c, form)),
        }
    }

    fn check_batch(&self, batch: usize, x: &[f32]) -> Result<(), KernelError> {
        if batch == 0 || batch > self.max_batch {
            return Err(KernelError::geometry(format!("model: batch must be in 1..={}, got {batch}", self.max_batch)));
        }
        let want = batch * self.input.size();
        if x.len() < want {
            return Err(KernelError::geometry(format!("model: input needs {want} values for batch {batch}, got {}", x.len())));
        }
        Ok(())
    }

    /// Rough size of a forward pass over `batch` samples (see `Op::forward_work`).
    pub fn forward_work(&self, batch: usize) -> f64 {
        batch as f64 * self.graph.steps.iter().map(Step::forward_work).sum::<f64>()
    }

    /// The graph a pass runs.
    fn graph_of(&self, pass: Pass) -> &Graph {
        pass_graph(&self.graph, &self.fusion, &self.train, pass)
    }

    /// The schedule and graph of an inference pass: fused when the model has
    /// fused groups (their folded weights brought up to date first).
    fn inference_pass(&mut self) -> (Arc<Schedule>, Pass) {
        match &mut self.fusion {
            Some(f) => {
                f.refresh(&self.params, &self.state);
                (f.schedule.clone(), Pass::Fused)
            }
            None => (self.infer.clone(), Pass::Model),
        }
    }

    /// The parameters or moving statistics may have been changed from outside
    /// (their buffer was handed out): fused passes refold before they next run.
    pub fn weights_changed(&mut self) {
        for f in [self.fusion.as_mut(), self.train.as_mut().and_then(|t| t.fused.as_mut())].into_iter().flatten() {
            f.mark_stale();
        }
    }

    /// Runs every step over `batch` samples of `x` (NHWC) with the placement
    /// of `schedule`; what stays readable afterwards is what it keeps.
    fn run_forward(&mut self, x: &[f32], batch: usize, mode: Mode, schedule: &Arc<Schedule>, kept: Kept, pass: Pass) -> Result<(), KernelError> {
        self.check_batch(batch, x)?;
        self.current = None;
        fresh(&mut self.acts, schedule.acts.len, "activations")?;
        if matches!(mode, Mode::Train { .. }) {
            // Batch statistics update the moving ones: fused inference refolds.
            // (The frozen prefix's BatchNorms run in inference mode and keep
            // theirs, so the training graph's folds stay valid.)
            if let Some(f) = &mut self.fusion {
                f.mark_stale();
            }
        }
        // Backward passes follow training forwards and `keep_all` ones
        // (Grad-CAM); an output-only inference pass records nothing for them.
        let backward_follows = matches!(mode, Mode::Train { .. }) || kept == Kept::All;
        let fusion = fusion_of(pass, &self.fusion, &self.train);
        let graph = pass_graph(&self.graph, &self.fusion, &self.train, pass);
        for i in 0..graph.len() {
            let step = &graph.steps[i];
            if step.aliases_input() {
                continue;
            }
            let started = self.profile.as_ref().map(|_| now_ms());
            let mut external: Vec<Option<usize>> = Vec::with_capacity(graph.inputs[i].len());
            let mut reads = Vec::new();
            for &v in &graph.inputs[i] {
                match act_range(graph, schedule, v, batch)? {
                    Some(r) => {
                        external.push(None);
                        reads.push(r);
                    }
                    None => external.push(Some(batch * graph.shapes[v].size())),
                }
            }
            let write = act_range(graph, schedule, i + 1, batch)?.expect("step outputs live in the arena");
            // A fused producer reads its folded kernel and bias.
            let params = match fusion {
                Some(f) if f.folded_step[i] => &f.weights,
                _ => &self.params,
            };
            let (arena_ins, mut outs) = arena_views(&mut self.acts, &reads, &[write])?;
            let y = outs.pop().expect("one written view");
            let mut arena_ins = arena_ins.into_iter();
            let xs: Vec<&[f32]> = external.iter().map(|e| e.map_or_else(|| arena_ins.next().expect("one view per arena read"), |len| &x[..len])).collect();
            step.forward(FwdIo {
                batch,
                step: i,
                xs: &xs,
                y,
                params,
                state: &mut self.state,
                aux: &mut self.aux,
                argmax: &mut self.argmax,
                scratch: &mut self.scratch,
                mode,
                frozen: self.train.as_ref().is_some_and(|t| t.frozen[i]),
                backward_follows,
            })?;
            if let (Some(profile), Some(started)) = (self.profile.as_mut(), started) {
                profile.record(Direction::Forward, i, started);
            }
        }
        self.current = Some((schedule.clone(), kept, pass));
        Ok(())
    }

    /// Back-propagates through the steps `schedule` marks, from the gradient
    /// already in the buffer of its start value.
    /// `pass`: the graph the forward pass ran (whose placement `schedule` is).
    fn run_backward(&mut self, x: &[f32], batch: usize, mode: Mode, schedule: &Schedule, pass: Pass) -> Result<(), KernelError> {
        let graph = pass_graph(&self.graph, &self.fusion, &self.train, pass);
        for i in (0..graph.len()).rev() {
            if !schedule.backprop[i] {
                continue;
            }
            let started = self.profile.as_ref().map(|_| now_ms());
            let step = &graph.steps[i];
            let inputs = &graph.inputs[i];
            // Activations (read-only).
            let acts = &self.acts;
            let view = |r: Option<(usize, usize)>, v: ValueId| -> &[f32] {
                match r {
                    Some((o, l)) => &acts[o..o + l],
                    None => &x[..batch * graph.shapes[v].size()],
                }
            };
            let mut xs = Vec::with_capacity(inputs.len());
            for &v in inputs {
                xs.push(view(act_range(graph, schedule, v, batch)?, v));
            }
            let y = view(act_range(graph, schedule, i + 1, batch)?, i + 1);
            // Gradients: dy is read, each input's sink written (disjoint by
            // placement): straight into its gradient buffer, or into the
            // temporary buffer when it is to be added or dropped.
            let dy_range = grad_range(graph, schedule, i + 1, batch)?;
            let (mut direct, mut staged) = (Vec::new(), Vec::new()); // (input k, (offset, len))
            for (k, &v) in inputs.iter().enumerate() {
                match schedule.sinks[i][k] {
                    Sink::None => {}
                    Sink::Overwrite => direct.push((k, grad_range(graph, schedule, v, batch)?)),
                    Sink::Accumulate { tmp } | Sink::Discard { tmp } => staged.push((k, (tmp, batch * graph.shapes[v].size()))),
                }
            }
            let ranges = |sinks: &[(usize, (usize, usize))]| sinks.iter().map(|s| s.1).collect::<Vec<_>>();
            let (mut dys, direct_views) = arena_views(&mut self.grad_acts, &[dy_range], &ranges(&direct))?;
            let (_, staged_views) = arena_views(&mut self.grad_tmp, &[], &ranges(&staged))?;
            let dy = dys.pop().expect("one read view");
            let mut dxs: Vec<Option<&mut [f32]>> = (0..inputs.len()).map(|_| None).collect();
            for ((k, _), view) in direct.iter().chain(&staged).zip(direct_views.into_iter().chain(staged_views)) {
                dxs[*k] = Some(view);
            }
            // This step's slice of the compact gradient buffer.
            let grads: &mut [f32] = if schedule.param_grads[i] {
                let at = self.train.as_ref().and_then(|t| t.layout.step_at[i]);
                let span = step.param_span().map_or(0, |r| r.len);
                match at {
                    Some(at) if at + span <= self.grads.len() => &mut self.grads[at..at + span],
                    _ => return Err(KernelError::value(format!("model: internal error: step {i} has no gradient buffer"))),
                }
            } else {
                &mut []
            };
            step.backward(BwdIo {
                batch,
                step: i,
                xs: &xs,
                y,
                dy,
                dxs: &mut dxs,
                param_grads: schedule.param_grads[i],
                params: &self.params,
                grads,
                state: &self.state,
                aux: &self.aux,
                argmax: &self.argmax,
                scratch: &mut self.scratch,
                mode,
                frozen: self.train.as_ref().is_some_and(|t| t.frozen[i]),
            })?;
            for (k, &v) in inputs.iter().enumerate() {
                if let Sink::Accumulate { tmp } = schedule.sinks[i][k] {
                    let (o, l) = grad_range(graph, schedule, v, batch)?;
                    crate::vecops::add_assign(&mut self.grad_acts[o..o + l], &self.grad_tmp[tmp..tmp + l]);
                }
            }
            if let (Some(profile), Some(started)) = (self.profile.as_mut(), started) {
                profile.record(Direction::Backward, i, started);
            }
        }
        Ok(())
    }

    /// Turns per-step timing on (from zero; on again restarts it) or off
    /// (see `profile`).
    pub fn set_profiling(&mut self, on: bool) {
        self.profile = on.then(|| StepTimes::new(self.graph.len()));
    }

    /// The per-step times since profiling was turned on (None when off).
    pub fn step_times(&self) -> Option<&StepTimes> {
        self.profile.as_ref()
    }

    /// Forward pass over `batch` samples of `x`. `keep_all` keeps every
    /// step's output readable (`activation`); otherwise only the output, and
    /// an inference-mode pass runs fused (see `fusion`).
    pub fn forward(&mut self, x: &[f32], batch: usize, mode: Mode, keep_all: bool) -> Result<(), KernelError> {
        let (schedule, kept, pass) = match (keep_all, mode) {
            (true, _) => (self.inspect_schedule()?, Kept::All, Pass::Model),
            (false, Mode::Infer) => {
                let (schedule, pass) = self.inference_pass();
                (schedule, Kept::Output, pass)
            }
            (false, Mode::Train { .. }) => (self.infer.clone(), Kept::Output, Pass::Model),
        };
        self.run_forward(x, batch, mode, &schedule, kept, pass)
    }

    /// Forward pass over the model's own graph, never fused: the reference
    /// that fused inference is tested against.
    pub fn forward_unfused(&mut self, x: &[f32], batch: usize, mode: Mode) -> Result<(), KernelError> {
        let schedule = self.infer.clone();
        self.run_forward(x, batch, mode, &schedule, Kept::Output, Pass::Model)
    }

    fn inspect_schedule(&mut self) -> Result<Arc<Schedule>, KernelError> {
        if self.inspect.is_none() {
            let head = Self::fused_head(&self.graph).unwrap_or(self.graph.len());
            self.inspect = Some(Arc::new(self.graph.schedule(Purpose::Forward { keep_all: true, head })?));
        }
        Ok(self.inspect.clone().expect("set above"))
    }

    /// Step `i`'s output from the last forward pass (`[max_batch, h, w, c]`,
    /// valid for that pass's batch). Every step's output is readable after a
    /// `keep_all` forward; otherwise only the model's output.
    pub fn activation(&self, i: usize) -> Result<&[f32], KernelError> {
        let n = self.graph.len();
        if i >= n {
            return Err(KernelError::value(format!("model: no step {i}; the model has steps 0..{}", n.saturating_sub(1))));
        }
        let Some((schedule, kept, pass)) = &self.current else {
            return Err(KernelError::value("model: no forward pass has run yet"));
        };
        let v = i + 1;
        let graph = self.graph_of(*pass);
        let unmaterialised = fusion_of(*pass, &self.fusion, &self.train).is_some_and(|f| f.unmaterialised[v]);
        if *kept == Kept::Output && (graph.root[v] != graph.root[n] || unmaterialised) {
            return Err(KernelError::value(format!("model: step {i}'s output was not kept by the last forward pass (run it with keep_all)")));
        }
        let r = graph.root[v];
        if r == 0 {
            return Err(KernelError::value(format!("model: step {i}'s output is the model input")));
        }
        let off = schedule.acts.get(r).ok_or_else(|| KernelError::value(format!("model: step {i} has no activation buffer")))?;
        Ok(&self.acts[off..off + self.graph.value_len(v)])
    }

    /// Gradient of `sum(dy · output of step from)` w.r.t. the output of step
    /// `stop` (< `from`), after a `keep_all` forward over the same `x` and
    /// `batch` in `mode`; left in `backward_result`. Grad-CAM uses it with a
    /// one-hot `dy` on the class score. Returns the result's length.
    pub fn backward_from(&mut self, x: &[f32], batch: usize, from: usize, dy: &[f32], stop: usize, mode: Mode) -> Result<usize, KernelError> {
        self.check_batch(batch, x)?;
        let n = self.graph.len();
        if from >= n || stop >= from {
            return Err(KernelError::value(format!("backward: need stop < from < {n} steps, got from={from}, stop={stop}")));
        }
        if !matches!(&self.current, Some((_, Kept::All, _))) {
            return Err(KernelError::value("backward: run a keep_all forward pass over the same inputs first"));
        }
        let len = batch * self.graph.shapes[from + 1].size();
        if dy.len() < len {
            return Err(KernelError::geometry(format!("backward: dy needs {len} values, got {}", dy.len())));
        }
        let inspect = self.inspect_schedule()?;
        let mut schedule = self.graph.schedule(Purpose::BackwardFrom { from, stop: stop + 1 })?;
        // Activations stay where the kept forward pass put them.
        schedule.acts = inspect.acts.clone();
        fresh(&mut self.grad_acts, schedule.grads.len, "activation gradients")?;
        fresh(&mut self.grad_tmp, schedule.tmp_len, "gradient accumulation")?;
        let (o, _) = grad_range(&self.graph, &schedule, from + 1, batch)?;
        self.grad_acts[o..o + len].copy_from_slice(&dy[..len]);
        self.run_backward(x, batch, mode, &schedule, Pass::Model)?;
        let (o, out_len) = grad_range(&self.graph, &schedule, stop + 1, batch)?;
        fresh(&mut self.backward_result, out_len, "backward result")?;
        self.backward_result[..out_len].copy_from_slice(&self.grad_acts[o..o + out_len]);
        Ok(out_len)
    }

    /// Loss and its gradient (into the head's gradient buffer when `grad` is
    /// given) from value `head` (`form` says what it holds), after a forward
    /// pass. Class weights apply in training only (as in Keras).
    #[allow(clippy::too_many_arguments)]
    fn loss(&mut self, loss: &LossKind, form: HeadForm, targets: StepTargets<'_>, batch: usize, head: ValueId, classes: usize, schedule: &Schedule, grad: bool) -> Result<crate::loss::LossStats, KernelError> {
        let pass = self.current.as_ref().map_or(Pass::Model, |c| c.2);
        let (lo, _) = act_range(self.graph_of(pass), schedule, head, batch)?.expect("the loss head is a step output");
        let logits = &self.acts[lo..lo + batch * classes];
        let dlogits: &mut [f32] = if grad {
            let (go, _) = grad_range(self.graph_of(pass), schedule, head, batch)?;
            &mut self.grad_acts[go..go + batch * classes]
        } else {
            // Evaluation: the kernel writes a gradient nobody reads.
            fresh(&mut self.grad_tmp, batch * classes, "loss gradient")?;
            &mut self.grad_tmp[..batch * classes]
        };
        let weighted = grad;
        let tr = self.train.as_ref().expect("configured");
        let cw = (weighted && !tr.class_weights.is_empty()).then_some(tr.class_weights.as_slice());
        match *loss {
            LossKind::SoftmaxCrossEntropy { label_smoothing } => {
                let p = SoftmaxCeParams::new(batch, classes, label_smoothing)?;
                let t = match targets {
                    StepTargets::Labels(l) => Targets::Labels(&l[..batch]),
                    StepTargets::Dense(d) => Targets::Dense(&d[..batch * classes]),
                };
                match form {
                    HeadForm::Probabilities => probability_cross_entropy(&p, logits, t, cw, dlogits),
                    HeadForm::FusedActivation | HeadForm::Logits => softmax_cross_entropy(&p, logits, t, cw, dlogits),
                }
            }
            LossKind::BinaryCrossEntropy { label_smoothing } => {
                let p = BceParams::new(batch, label_smoothing)?;
                let t = &mut self.targets_f32[..batch];
                match targets {
                    StepTargets::Labels(l) => {
                        for (ti, &li) in t.iter_mut().zip(l) {
                            if li > 1 {
                                return Err(KernelError::value(format!("train: binary labels must be 0 or 1, got {li}")));
                            }
                            *ti = li as f32;
                        }
                    }
                    StepTargets::Dense(d) => t.copy_from_slice(&d[..batch]),
                }
                binary_cross_entropy(&p, logits, t, cw.map(|w| [w[0], w[1]]), dlogits)
            }
        }
    }

    fn check_targets(&self, targets: StepTargets<'_>, batch: usize, classes: usize) -> Result<(), KernelError> {
        match targets {
            StepTargets::Labels(l) if l.len() < batch => Err(KernelError::geometry(format!("train: need {batch} labels, got {}", l.len()))),
            StepTargets::Dense(t) if t.len() < batch * classes => {
                Err(KernelError::geometry(format!("train: need {} target values, got {}", batch * classes, t.len())))
            }
            _ => Ok(()),
        }
    }

    fn training(&self, what: &str) -> Result<&Training, KernelError> {
        self.train.as_ref().ok_or_else(|| KernelError::value(format!("{what}: the model has no training configuration (compile it first)")))
    }

    /// Data loss, L2 penalty and correct count of one batch in inference mode
    /// (moving statistics, no dropout, no class weights, no update).
    pub fn evaluate_batch(&mut self, x: &[f32], targets: StepTargets<'_>, batch: usize) -> Result<StepStats, KernelError> {
        let spec = self.training("evaluate")?.spec;
        self.check_batch(batch, x)?;
        let (head, classes, form) = self.loss_head(&spec.loss)?;
        self.check_targets(targets, batch, classes)?;
        let (schedule, pass) = self.inference_pass();
        self.run_forward(x, batch, Mode::Infer, &schedule, Kept::Output, pass)?;
        let stats = self.loss(&spec.loss, form, targets, batch, head, classes, &schedule, false)?;
        // The penalty's value (no gradient), reported separately from the data
        // loss; the SDK documents which loss its val_loss is.
        let penalty = match spec.l2 {
            L2::None => 0.0,
            L2::Keras { lambda } => self.penalty_value(L2Form::Keras, lambda),
            L2::Study { lambda } => self.penalty_value(L2Form::Study { batch }, lambda),
        };
        Ok(StepStats { loss: stats.loss, penalty, correct: stats.correct as u32, grad_norm: 0.0, updated: 0 })
    }

    /// `c · sum(W²)` over the regularized trainable kernels, summed in range order.
    fn penalty_value(&self, form: L2Form, lambda: f32) -> f32 {
        let Some(tr) = &self.train else { return 0.0 };
        let sum: f64 = tr.penalized.iter().map(|r| crate::chunked::sum_squares_f64(&self.params[r.offset..r.end()])).sum();
        (form.coefficient(lambda as f64) * sum) as f32
    }

    /// One training step: forward (batch statistics, dropout), loss,
    /// backward, L2 penalty, gradient clipping and the optimizer update, on
    /// the trainable steps.
    pub fn train_step(&mut self, x: &[f32], targets: StepTargets<'_>, batch: usize, lr: f32, step: u32, seed: u64) -> Result<StepStats, KernelError> {
        let tr = self.training("train")?;
        let spec = tr.spec;
        let (schedule, pass) = tr.pass();
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(KernelError::value(format!("train: learning rate must be finite and >= 0, got {lr}")));
        }
        if step == 0 {
            return Err(KernelError::value("train: step numbers start at 1, got 0"));
        }
        self.check_batch(batch, x)?;
        let (head, classes, form) = self.loss_head(&spec.loss)?;
        self.check_targets(targets, batch, classes)?;
        self.prepare_training()?;
        if let Some(f) = self.train.as_mut().and_then(|t| t.fused.as_mut()) {
            f.refresh(&self.params, &self.state);
        }
        let mode = Mode::Train { seed, step: step as u64 };
        self.run_forward(x, batch, mode, &schedule, Kept::Output, pass)?;
        let stats = self.loss(&spec.loss, form, targets, batch, head, classes, &schedule, true)?;
        self.run_backward(x, batch, mode, &schedule, pass)?;
        let tr = self.train.as_ref().expect("configured");
        let runs = &tr.layout.runs;
        // Per run: the parameters, and the same values' compact gradients and slots.
        let penalty = match spec.l2 {
            L2::None => 0.0,
            L2::Keras { lambda } | L2::Study { lambda } => {
                let form = if matches!(spec.l2, L2::Keras { .. }) { L2Form::Keras } else { L2Form::Study { batch } };
                let mut sum = 0.0;
                for run in runs {
                    let (p, g) = (run.params, run.compact());
                    sum += optim::l2_penalty(form, lambda, &run.inside(&tr.penalized), &self.params[p.offset..p.end()], &mut self.grads[g.offset..g.end()])?;
                }
                sum
            }
        };
        let compact = tr.layout.compact_runs();
        let grad_norm = match spec.clip_norm {
            Some(max) => optim::clip_by_global_norm_runs(&mut self.grads, &compact, max)?,
            None => optim::global_norm_runs(&self.grads, &compact),
        };
        let mut out = StepStats { loss: stats.loss, penalty, correct: stats.correct as u32, grad_norm, updated: 0 };
        if !(grad_norm.is_finite() && stats.loss.is_finite()) {
            return Ok(out); // leave the weights intact; the caller reports the NaN
        }
        for run in runs {
            let (p, c) = (run.params, run.compact());
            let r = c.offset..c.end();
            let (params, grads) = (&mut self.params[p.offset..p.end()], &self.grads[r.clone()]);
            match spec.optimizer {
                OptimizerKind::Sgd(h) => {
                    let velocity: &mut [f32] = if h.momentum > 0.0 { &mut self.slot1[r] } else { &mut [] };
                    optim::sgd_step(&h, lr, params, grads, velocity)?
                }
                OptimizerKind::Adam(h) => optim::adam_step(&h, lr, step, params, grads, &mut self.slot1[r.clone()], &mut self.slot2[r])?,
                OptimizerKind::AdamW(h, rate) => {
                    let decay = WeightDecay { rate, ranges: &run.inside(&tr.kernels) };
                    optim::adamw_step(&h, lr, step, &decay, params, grads, &mut self.slot1[r.clone()], &mut self.slot2[r])?
                }
            }
        }
        out.updated = 1;
        // The trainable weights changed: fused inference refolds (the
        // training forward marked it already). The step's own fused prefix
        // holds frozen steps only, whose weights and moving statistics no
        // step changes, so it keeps its folds and kept Winograd kernels
        // instead of rebuilding them every step.
        if let Some(f) = &mut self.fusion {
            f.mark_stale();
        }
        Ok(out)
    }
}

/// Where value `v`'s gradient (its first `batch` samples) lives in the
/// gradient arena of `graph` under `schedule`.
fn grad_range(graph: &Graph, s: &Schedule, v: ValueId, batch: usize) -> Result<(usize, usize), KernelError> {
    let off = s.grads.get(graph.root[v]).ok_or_else(|| KernelError::value(format!("model: internal error: value {v} has no gradient buffer")))?;
    Ok((off, batch * graph.shapes[v].size()))
}

/// Where value `v`'s first `batch` samples live in the activation arena of
/// `graph` under `schedule` (None: the caller's input).
fn act_range(graph: &Graph, s: &Schedule, v: ValueId, batch: usize) -> Result<Option<(usize, usize)>, KernelError> {
    let r = graph.root[v];
    if r == 0 {
        return Ok(None);
    }
    let off = s.acts.get(r).ok_or_else(|| KernelError::value(format!("model: internal error: value {v} has no activation buffer")))?;
    Ok(Some((off, batch * graph.shapes[v].size())))
}
