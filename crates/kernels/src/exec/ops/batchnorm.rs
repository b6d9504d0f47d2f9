//! BatchNormalization step over the channel axis (Keras semantics): batch
//! statistics in training, moving statistics in inference and when frozen
//! (Keras: a BatchNormalization layer with `trainable = false` runs in
//! inference mode). With `relu` (the training fusion of exec/train_fusion.rs)
//! the step also applies the ReLU that follows it, in the same kernel passes.

use super::{slice, BackwardReads, BufferKind, BwdIo, FwdIo, Mode, Op, Plan, Role, Shape3};
use crate::batchnorm::{self, BatchNormOutput, BatchNormParams, OutputGrad, ParamGrads, SavedChannels, TrainChannels};
use crate::error::KernelError;
use crate::geom::BatchNormGeom;
use crate::optim::ParamRange;

#[derive(Debug, Clone)]
pub struct BatchNorm {
    shape: Shape3,
    params: BatchNormParams,
    gamma: ParamRange,
    beta: ParamRange,
    moving_mean: ParamRange,
    moving_var: ParamRange,
    /// Batch mean, inverse std and scale `gamma·inv_std` saved by the training
    /// forward (aux buffer); the fused ReLU's backward recomputes its mask
    /// from the input with the scale.
    saved_mean: ParamRange,
    saved_inv_std: ParamRange,
    saved_scale: ParamRange,
    /// A following ReLU runs inside this step (training fusion): the output
    /// is `max(bn(x), 0)` and `dy` is that output's gradient.
    relu: bool,
}

impl BatchNorm {
    pub fn plan(params: BatchNormParams, p: &mut Plan<'_>) -> Self {
        let shape = p.input();
        let c = shape.c;
        let (gamma, beta) = (p.off.params(c), p.off.params(c));
        let (moving_mean, moving_var) = (p.off.state(c), p.off.state(c));
        let (saved_mean, saved_inv_std, saved_scale) = (p.off.aux(c), p.off.aux(c), p.off.aux(c));
        Self { shape, params, gamma, beta, moving_mean, moving_var, saved_mean, saved_inv_std, saved_scale, relu: false }
    }

    /// This step with the ReLU that follows it fused in (training fusion):
    /// same tensors, bit-identical results.
    pub fn with_relu(&self) -> Self {
        Self { relu: true, ..self.clone() }
    }

    fn geom(&self, n: usize) -> Result<BatchNormGeom, KernelError> {
        BatchNormGeom::new(self.shape.nhwc(n))
    }

    fn batch_statistics(mode: Mode, frozen: bool) -> bool {
        matches!(mode, Mode::Train { .. }) && !frozen
    }
}

/// What folding an inference-mode BatchNorm into the preceding step reads:
/// `y = (x - mean) · gamma / sqrt(var + epsilon) + beta` per channel.
#[derive(Debug, Clone, Copy)]
pub struct BatchNormFold {
    pub gamma: ParamRange,
    pub beta: ParamRange,
    /// In the state buffer.
    pub moving_mean: ParamRange,
    pub moving_var: ParamRange,
    pub epsilon: f32,
}

impl BatchNorm {
    pub fn fold(&self) -> BatchNormFold {
        BatchNormFold { gamma: self.gamma, beta: self.beta, moving_mean: self.moving_mean, moving_var: self.moving_var, epsilon: self.params.epsilon }
    }
}

impl Op for BatchNorm {
    fn output(&self) -> Shape3 {
        self.shape
    }
    fn tensors(&self) -> Vec<(Role, BufferKind, ParamRange)> {
        vec![
            (Role::Gamma, BufferKind::Params, self.gamma),
            (Role::Beta, BufferKind::Params, self.beta),
            (Role::MovingMean, BufferKind::State, self.moving_mean),
            (Role::MovingVariance, BufferKind::State, self.moving_var),
        ]
    }
    fn scratch_len(&self, n: usize) -> Result<usize, KernelError> {
        Ok(batchnorm::scratch_len(&self.geom(n)?))
    }
    fn forward_work(&self) -> f64 {
        self.shape.size() as f64
    }
    fn needs_dx_sink(&self) -> bool {
        true
    }
    /// The fused ReLU's mask is recomputed from the input.
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: true, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let x = &io.xs[0][..g.rows * g.c];
        let (gamma, beta) = (slice(io.params, self.gamma), slice(io.params, self.beta));
        let (mm, mv) = (self.moving_mean, self.moving_var);
        let (mean_state, var_state) = io.state[mm.offset..mv.end()].split_at_mut(mm.len);
        if Self::batch_statistics(io.mode, io.frozen) {
            let (sm, ss) = (self.saved_mean, self.saved_scale);
            let (save_mean, rest) = io.aux[sm.offset..ss.end()].split_at_mut(sm.len);
            let (save_inv_std, save_scale) = rest.split_at_mut(self.saved_inv_std.len);
            let out = if self.relu { BatchNormOutput::Relu } else { BatchNormOutput::Linear };
            let channels = TrainChannels { gamma, beta, save_mean, save_inv_std, save_scale, running_mean: mean_state, running_var: var_state };
            batchnorm::batchnorm_fwd_train(&g, &self.params, out, x, channels, io.y, io.scratch);
        } else {
            batchnorm::batchnorm_fwd_infer(&g, &self.params, x, gamma, beta, mean_state, var_state, io.y, io.scratch);
            if self.relu {
                crate::activation::relu_in_place(io.y);
            }
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let gamma = slice(io.params, self.gamma);
        let step = io.step;
        let dx = io.dxs[0].as_deref_mut().ok_or_else(|| KernelError::value(format!("step {step}: BatchNorm backward needs dx")))?;
        if Self::batch_statistics(io.mode, io.frozen) {
            // The kernel computes gamma and beta gradients with dx; a
            // training-mode backward that wants none (Grad-CAM) drops them.
            let mut dropped = Vec::new();
            let grads: &mut [f32] = if io.param_grads {
                io.grads
            } else {
                dropped.resize(self.gamma.len + self.beta.len, 0.0);
                &mut dropped
            };
            let (dgamma, dbeta) = grads[..self.beta.end() - self.gamma.offset].split_at_mut(self.gamma.len);
            let x = &io.xs[0][..g.rows * g.c];
            let saved = SavedChannels { gamma, save_mean: slice(io.aux, self.saved_mean), save_inv_std: slice(io.aux, self.saved_inv_std) };
            let dy = if self.relu {
                OutputGrad::Relu { dy: io.dy, beta: slice(io.params, self.beta), save_scale: slice(io.aux, self.saved_scale) }
            } else {
                OutputGrad::Linear(io.dy)
            };
            let grads = ParamGrads { dgamma, dbeta: &mut dbeta[..self.beta.len] };
            batchnorm::batchnorm_bwd(&g, x, dy, saved, dx, grads, io.scratch);
        } else if self.relu {
            // The training fusion leaves frozen BatchNorms unfused.
            return Err(KernelError::value(format!("step {step}: internal error: a frozen BatchNorm has no fused ReLU backward")));
        } else {
            batchnorm::batchnorm_bwd_infer(&g, &self.params, io.dy, gamma, slice(io.state, self.moving_var), dx, io.scratch);
            if io.param_grads {
                // Inference-mode gradients of gamma and beta are not needed
                // by any caller; keep the buffer defined.
                io.grads[..self.beta.end() - self.gamma.offset].fill(0.0);
            }
        }
        Ok(())
    }
}
