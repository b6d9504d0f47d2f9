//! A planned model: layers with their shapes, and every buffer a training
//! step or an inference batch touches, allocated once for the largest batch.
//! Parameters, their gradients and each optimizer slot are one contiguous
//! buffer each (so the optimizer is one pass over flat slices); activations
//! get one buffer per layer (kept after a pass, for feature maps and
//! Grad-CAM); input gradients ping-pong between two buffers.

use super::layer::{BwdIo, FwdIo, Layer, Mode, Offsets, Shape3, Tensor};
use super::spec::{L2, LayerSpec, LossKind, OptimizerKind, TrainSpec};
use crate::error::KernelError;
use crate::loss::{binary_cross_entropy, softmax_cross_entropy, BceParams, SoftmaxCeParams, Targets};
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

pub struct Model {
    pub input: Shape3,
    pub max_batch: usize,
    pub layers: Vec<Layer>,
    /// Buffer index holding each layer's input (`None`: the caller's x).
    inputs: Vec<Option<usize>>,
    pub params: Vec<f32>,
    pub grads: Vec<f32>,
    /// Optimizer slots: SGD velocity or Adam first moment, and Adam second moment.
    pub slot1: Vec<f32>,
    pub slot2: Vec<f32>,
    /// Non-trained state (BatchNorm moving statistics).
    pub state: Vec<f32>,
    aux: Vec<f32>,
    argmax: Vec<u32>,
    pub acts: Vec<Vec<f32>>,
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    scratch: Vec<f32>,
    targets_f32: Vec<f32>,
    /// Gradient left by `backward_from` (w.r.t. the stop layer's output).
    pub backward_result: Vec<f32>,
    /// Kernels with the L2 penalty, and all kernels (AdamW's decay).
    penalized: Vec<ParamRange>,
    kernels: Vec<ParamRange>,
    train: Option<TrainSpec>,
    class_weights: Vec<f32>,
}

/// A zero-filled buffer, or an error (not an abort) when it cannot be had:
/// a model description may ask for more memory than the engine can give.
fn zeroed(len: Option<usize>, what: &str) -> Result<Vec<f32>, KernelError> {
    let len = len.ok_or_else(|| KernelError { code: crate::error::ErrorCode::OutOfMemory, message: format!("model: {what} size overflows") })?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| KernelError {
        code: crate::error::ErrorCode::OutOfMemory,
        message: format!("model: cannot allocate {what} ({len} values, {} MiB)", len * 4 >> 20),
    })?;
    v.resize(len, 0.0);
    Ok(v)
}

fn zeroed_u32(len: usize) -> Result<Vec<u32>, KernelError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| KernelError { code: crate::error::ErrorCode::OutOfMemory, message: format!("model: cannot allocate max-pool indices ({len} values)") })?;
    v.resize(len, 0);
    Ok(v)
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("input", &self.input)
            .field("max_batch", &self.max_batch)
            .field("layers", &self.layers.iter().map(|l| l.spec).collect::<Vec<_>>())
            .field("params", &self.params.len())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Plans a model: infers and validates every shape, places every tensor,
    /// and allocates all buffers for batches of up to `max_batch`.
    pub fn new(input: Shape3, max_batch: usize, specs: &[LayerSpec]) -> Result<Self, KernelError> {
        if max_batch == 0 || max_batch > MAX_BATCH {
            return Err(KernelError::geometry(format!("model: max_batch must be in 1..={MAX_BATCH}, got {max_batch}")));
        }
        if specs.is_empty() {
            return Err(KernelError::geometry("model: needs at least one layer"));
        }
        if input.size() == 0 {
            return Err(KernelError::geometry(format!("model: input shape [{}, {}, {}] has a zero dimension", input.h, input.w, input.c)));
        }
        let mut off = Offsets::default();
        let mut layers = Vec::with_capacity(specs.len());
        let mut shape = input;
        for (i, spec) in specs.iter().enumerate() {
            let layer = Layer::new(i, *spec, shape, max_batch, &mut off)?;
            shape = layer.output;
            layers.push(layer);
        }
        let mut inputs = Vec::with_capacity(layers.len());
        let mut current: Option<usize> = None;
        for (i, layer) in layers.iter().enumerate() {
            inputs.push(current);
            if !layer.aliases_input() {
                current = Some(i);
            }
        }
        let mut scratch = 0;
        let mut largest = input.size();
        for layer in &layers {
            largest = largest.max(layer.output.size());
            // Scratch needs are not always monotonic in the batch: take the max.
            for n in 1..=max_batch {
                scratch = scratch.max(layer.scratch_len(n)?);
            }
        }
        let acts = layers
            .iter()
            .map(|l| if l.aliases_input() { Ok(Vec::new()) } else { zeroed(l.output.size().checked_mul(max_batch), "activations") })
            .collect::<Result<Vec<_>, _>>()?;
        let penalized = layers.iter().filter_map(Layer::penalized).collect();
        let kernels = layers.iter().filter_map(Layer::kernel).collect();
        Ok(Self {
            input,
            max_batch,
            inputs,
            params: zeroed(Some(off.params), "params")?,
            grads: zeroed(Some(off.params), "grads")?,
            slot1: zeroed(Some(off.params), "slot1")?,
            slot2: zeroed(Some(off.params), "slot2")?,
            state: zeroed(Some(off.state), "state")?,
            aux: zeroed(Some(off.aux), "aux")?,
            argmax: zeroed_u32(off.argmax)?,
            acts,
            grad_a: zeroed((largest).checked_mul(max_batch), "grad_a")?,
            grad_b: zeroed((largest).checked_mul(max_batch), "grad_b")?,
            scratch: zeroed(Some(scratch), "scratch")?,
            targets_f32: zeroed(Some(max_batch), "targets_f32")?,
            backward_result: zeroed((largest).checked_mul(max_batch), "backward_result")?,
            penalized,
            kernels,
            train: None,
            class_weights: Vec::new(),
            layers,
        })
    }

    pub fn output(&self) -> Shape3 {
        self.layers.last().map_or(self.input, |l| l.output)
    }

    /// Every tensor, in layer order (params, then state, per layer).
    pub fn tensors(&self) -> Vec<Tensor> {
        self.layers.iter().flat_map(Layer::tensors).collect()
    }

    /// Index of the activation buffer holding layer `i`'s output.
    pub fn output_buffer(&self, i: usize) -> Option<usize> {
        if self.layers[i].aliases_input() {
            self.inputs[i]
        } else {
            Some(i)
        }
    }

    /// Sets the loss, optimizer, regularization and class weights.
    pub fn configure(&mut self, spec: TrainSpec, class_weights: &[f32]) -> Result<(), KernelError> {
        let classes = self.loss_head(&spec.loss)?.1;
        if !class_weights.is_empty() {
            let want = if classes == 1 { 2 } else { classes };
            if class_weights.len() != want {
                return Err(KernelError::value(format!("train: expected {want} class weights, got {}", class_weights.len())));
            }
            if let Some(w) = class_weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                return Err(KernelError::value(format!("train: class weights must be finite and >= 0, got {w}")));
            }
        }
        self.class_weights = class_weights.to_vec();
        self.train = Some(spec);
        // Optimizer state is kept: fit() reconfigures (class weights) between
        // calls and training continues where it stopped, as in Keras. A new
        // compile() clears the slots explicitly.
        Ok(())
    }

    /// The layer whose output the loss reads as logits, and the class count. A
    /// final Softmax (with cross-entropy) or Sigmoid (with binary
    /// cross-entropy) is fused into the loss, so the logits are its input.
    fn loss_head(&self, loss: &LossKind) -> Result<(usize, usize), KernelError> {
        let last = self.layers.len() - 1;
        let fused = match (loss, self.layers[last].spec) {
            (LossKind::SoftmaxCrossEntropy { .. }, LayerSpec::Softmax) | (LossKind::BinaryCrossEntropy { .. }, LayerSpec::Sigmoid) => true,
            _ => false,
        };
        if fused && last == 0 {
            return Err(KernelError::geometry("train: the model is only its output activation"));
        }
        let head = if fused { last - 1 } else { last };
        let out = self.layers[head].output;
        if out.h != 1 || out.w != 1 {
            return Err(KernelError::geometry(format!(
                "train: the loss needs flat logits [batch, classes], got [batch, {}, {}, {}] from layer {head}",
                out.h, out.w, out.c
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
            _ => Ok((head, out.c)),
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

    /// Rough size of a forward pass over `batch` samples (see `Layer::forward_work`).
    pub fn forward_work(&self, batch: usize) -> f64 {
        batch as f64 * self.layers.iter().map(Layer::forward_work).sum::<f64>()
    }

    /// Runs every layer over `batch` samples of `x` (NHWC). Activations stay
    /// in `acts` until the next pass.
    pub fn forward(&mut self, x: &[f32], batch: usize, mode: Mode) -> Result<(), KernelError> {
        self.check_batch(batch, x)?;
        for i in 0..self.layers.len() {
            let layer = &self.layers[i];
            if layer.aliases_input() {
                continue;
            }
            let (before, after) = self.acts.split_at_mut(i);
            let input: &[f32] = match self.inputs[i] {
                None => x,
                Some(j) => &before[j],
            };
            layer.forward(FwdIo {
                batch,
                x: input,
                y: &mut after[0],
                params: &self.params,
                state: &mut self.state,
                aux: &mut self.aux,
                argmax: &mut self.argmax,
                scratch: &mut self.scratch,
                mode,
            })?;
        }
        Ok(())
    }

    /// Back-propagates from the output of layer `start` (its gradient is in
    /// `grad_a`) down to the output of layer `stop` (or through the whole
    /// model when `stop` is `None`, without the input gradient). Returns true
    /// when the final gradient is in `grad_a`, false when in `grad_b`.
    fn backward(&mut self, x: &[f32], batch: usize, start: usize, stop: Option<usize>, mode: Mode) -> Result<bool, KernelError> {
        let mut in_a = true;
        for i in (0..=start).rev() {
            if Some(i) == stop {
                break;
            }
            let layer = &self.layers[i];
            if layer.aliases_input() {
                continue; // the gradient passes through unchanged
            }
            let input: &[f32] = match self.inputs[i] {
                None => x,
                Some(j) => &self.acts[j],
            };
            // The input gradient of the model's first computing layer is not
            // needed for training (it is the costliest pass of the BreakHis
            // net's first convolution), but a stop layer below needs it.
            let want_dx = stop.is_some() || self.inputs[i].is_some() || matches!(layer.spec, LayerSpec::BatchNorm(_));
            let (dy, dx) = if in_a { (&self.grad_a, &mut self.grad_b) } else { (&self.grad_b, &mut self.grad_a) };
            layer.backward(BwdIo {
                batch,
                x: input,
                y: &self.acts[i],
                dy,
                dx: want_dx.then_some(dx.as_mut_slice()),
                params: &self.params,
                grads: &mut self.grads,
                state: &self.state,
                aux: &self.aux,
                argmax: &self.argmax,
                scratch: &mut self.scratch,
                mode,
            })?;
            if want_dx {
                in_a = !in_a;
            }
        }
        Ok(in_a)
    }

    /// Gradient of `sum(dy · output of layer from)` w.r.t. the output of layer
    /// `stop` (< `from`), after a `forward` over the same `x` and `batch` in
    /// `mode`; left in `backward_result`. Grad-CAM uses it with a one-hot
    /// `dy` on the class score.
    pub fn backward_from(&mut self, x: &[f32], batch: usize, from: usize, dy: &[f32], stop: usize, mode: Mode) -> Result<usize, KernelError> {
        self.check_batch(batch, x)?;
        if from >= self.layers.len() || stop >= from {
            return Err(KernelError::value(format!(
                "backward: need stop < from < {} layers, got from={from}, stop={stop}",
                self.layers.len()
            )));
        }
        let len = batch * self.layers[from].output.size();
        if dy.len() < len {
            return Err(KernelError::geometry(format!("backward: dy needs {len} values, got {}", dy.len())));
        }
        self.grad_a[..len].copy_from_slice(&dy[..len]);
        let in_a = self.backward(x, batch, from, Some(stop), mode)?;
        let out_len = batch * self.layers[stop].output.size();
        let src = if in_a { &self.grad_a } else { &self.grad_b };
        self.backward_result[..out_len].copy_from_slice(&src[..out_len]);
        Ok(out_len)
    }

    /// Loss and its gradient (into `grad_a`) from the logits of layer `head`,
    /// after a forward pass. Class weights apply in training only (as in Keras).
    fn loss(&mut self, loss: &LossKind, targets: StepTargets<'_>, batch: usize, head: usize, classes: usize, weighted: bool) -> Result<crate::loss::LossStats, KernelError> {
        let logits_buf = self.output_buffer(head).expect("loss head has an activation buffer");
        let logits = &self.acts[logits_buf][..batch * classes];
        let dlogits = &mut self.grad_a[..batch * classes];
        let cw = (weighted && !self.class_weights.is_empty()).then_some(self.class_weights.as_slice());
        match *loss {
            LossKind::SoftmaxCrossEntropy { label_smoothing } => {
                let p = SoftmaxCeParams::new(batch, classes, label_smoothing)?;
                let t = match targets {
                    StepTargets::Labels(l) => Targets::Labels(&l[..batch]),
                    StepTargets::Dense(d) => Targets::Dense(&d[..batch * classes]),
                };
                softmax_cross_entropy(&p, logits, t, cw, dlogits)
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

    /// Data loss, L2 penalty and correct count of one batch in inference mode
    /// (moving statistics, no dropout, no class weights, no update).
    pub fn evaluate_batch(&mut self, x: &[f32], targets: StepTargets<'_>, batch: usize) -> Result<StepStats, KernelError> {
        let spec = self.train.ok_or_else(|| KernelError::value("evaluate: the model has no training configuration (compile it first)"))?;
        self.check_batch(batch, x)?;
        let (head, classes) = self.loss_head(&spec.loss)?;
        self.check_targets(targets, batch, classes)?;
        self.forward(x, batch, Mode::Infer)?;
        let stats = self.loss(&spec.loss, targets, batch, head, classes, false)?;
        // The penalty's value (no gradient), reported separately from the data
        // loss; the SDK documents which loss its val_loss is.
        let penalty = match spec.l2 {
            L2::None => 0.0,
            L2::Keras { lambda } => self.penalty_value(L2Form::Keras, lambda),
            L2::Study { lambda } => self.penalty_value(L2Form::Study { batch }, lambda),
        };
        Ok(StepStats { loss: stats.loss, penalty, correct: stats.correct as u32, grad_norm: 0.0, updated: 0 })
    }

    /// `c · sum(W²)` over the regularized kernels, summed in range order.
    fn penalty_value(&self, form: L2Form, lambda: f32) -> f32 {
        let sum: f64 = self.penalized.iter().map(|r| crate::chunked::sum_squares_f64(&self.params[r.offset..r.end()])).sum();
        (form.coefficient(lambda as f64) * sum) as f32
    }

    /// One training step: forward (batch statistics, dropout), loss,
    /// backward, L2 penalty, gradient clipping and the optimizer update.
    pub fn train_step(&mut self, x: &[f32], targets: StepTargets<'_>, batch: usize, lr: f32, step: u32, seed: u64) -> Result<StepStats, KernelError> {
        let spec = self.train.ok_or_else(|| KernelError::value("train: the model has no training configuration (compile it first)"))?;
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(KernelError::value(format!("train: learning rate must be finite and >= 0, got {lr}")));
        }
        if step == 0 {
            return Err(KernelError::value("train: step numbers start at 1, got 0"));
        }
        self.check_batch(batch, x)?;
        let (head, classes) = self.loss_head(&spec.loss)?;
        self.check_targets(targets, batch, classes)?;
        let mode = Mode::Train { seed, step: step as u64 };
        self.forward(x, batch, mode)?;
        let stats = self.loss(&spec.loss, targets, batch, head, classes, true)?;
        self.backward(x, batch, head, None, mode)?;
        let penalty = match spec.l2 {
            L2::None => 0.0,
            L2::Keras { lambda } => optim::l2_penalty(L2Form::Keras, lambda, &self.penalized, &self.params, &mut self.grads)?,
            L2::Study { lambda } => optim::l2_penalty(L2Form::Study { batch }, lambda, &self.penalized, &self.params, &mut self.grads)?,
        };
        let grad_norm = match spec.clip_norm {
            Some(max) => optim::clip_by_global_norm(&mut self.grads, max)?,
            None => optim::global_norm(&self.grads),
        };
        let mut out = StepStats { loss: stats.loss, penalty, correct: stats.correct as u32, grad_norm, updated: 0 };
        if !(grad_norm.is_finite() && stats.loss.is_finite()) {
            return Ok(out); // leave the weights intact; the caller reports the NaN
        }
        match spec.optimizer {
            OptimizerKind::Sgd(h) => {
                let velocity: &mut [f32] = if h.momentum > 0.0 { &mut self.slot1 } else { &mut [] };
                optim::sgd_step(&h, lr, &mut self.params, &self.grads, velocity)?
            }
            OptimizerKind::Adam(h) => optim::adam_step(&h, lr, step, &mut self.params, &self.grads, &mut self.slot1, &mut self.slot2)?,
            OptimizerKind::AdamW(h, rate) => {
                let decay = WeightDecay { rate, ranges: &self.kernels };
                optim::adamw_step(&h, lr, step, &decay, &mut self.params, &self.grads, &mut self.slot1, &mut self.slot2)?
            }
        }
        out.updated = 1;
        Ok(out)
    }
}
