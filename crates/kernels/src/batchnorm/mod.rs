//! BatchNormalization over NHWC (or dense `[n, c]`) inputs, per channel over
//! the `rows = n·h·w` values of that channel.
//!
//! Layouts (densely packed, see `BatchNormGeom`):
//! - `x`, `y`, `dy`, `dx`: `[rows, c]`, element `(r, ch)` at `r·c + ch`
//! - `gamma`, `beta`, `dgamma`, `dbeta`, `save_mean`, `save_inv_std`,
//!   `running_mean`, `running_var`: `[c]`
//! - `scratch`: `scratch_len(g)` f32, contents undefined on entry and exit
//!
//! Training (`batchnorm_fwd_train`): `mean = sum(x)/rows`, biased
//! `var = sum((x - mean)²)/rows` (two passes, so no cancellation),
//! `inv_std = 1/sqrt(var + epsilon)`, `y = gamma·(x - mean)·inv_std + beta`;
//! `mean` and `inv_std` are saved for backward and the running statistics
//! follow **Keras**: `running = running·momentum + batch·(1 - momentum)` with the
//! *biased* batch variance, defaults `momentum = 0.99`, `epsilon = 1e-3`
//! (PyTorch would use momentum 0.1 on the other term and the unbiased
//! variance). Inference (`batchnorm_fwd_infer`) uses the running statistics.
//!
//! Backward (training mode, `batchnorm_bwd`): with `xhat = (x - mean)·inv_std`,
//! `dbeta = sum(dy)`, `dgamma = sum(dy·xhat)`,
//! `dx = gamma·inv_std/rows · (rows·dy - dbeta - xhat·dgamma)`.
//!
//! Fused with a following ReLU (`BatchNormOutput::Relu`, `OutputGrad::Relu`;
//! the training fusion of exec/train_fusion.rs): the forward clamps as it
//! writes `y = max(bn(x), 0)`, and the backward applies the ReLU's mask (`dy`
//! counts where `y > 0`, else 0) inside its own two passes, so neither ReLU
//! pass over the activations (nor its gradient buffer) exists. The mask is
//! recomputed from `x` with the forward's own `beta` and per-channel scale
//! (`save_scale`), the same operations that made `y`, so the backward reads
//! two tensors per element instead of three (BreakHis training step 1.02x on
//! 1 thread). Each element is computed exactly as by the BatchNorm kernel
//! followed by `activation::relu_fwd` / `relu_bwd`: the fused results are
//! bit-identical.
//!
//! Determinism: reductions over rows run in fixed chunks of `rows_per_chunk(g)`
//! rows (chosen from `c` alone). Each chunk sums its rows in row order in f32
//! into its own slot of `scratch`; the chunk partials are then added serially,
//! in chunk order, in f64. Element-wise passes use the same chunks. So results
//! are bit-identical for any thread count. Each pass walks a chunk's rows a
//! group of channel vectors at a time (`columns.rs`), which changes no bit of
//! the row-at-a-time order.

mod columns;
mod reduce;

use crate::geom::BatchNormGeom;
use crate::columns::{add_column_sums, for_columns};
use columns::{GradientSums, InputGradient, Mask, Normalize, OutGrad, SquaredDeviations};
use reduce::{chunks, combine, for_each_row_chunk, partials};

pub use reduce::{rows_per_chunk, scratch_len};

/// Momentum and epsilon. `Default` is Keras' (0.99, 1e-3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormParams {
    pub momentum: f32,
    pub epsilon: f32,
}

impl Default for BatchNormParams {
    fn default() -> Self {
        Self { momentum: 0.99, epsilon: 1e-3 }
    }
}

impl BatchNormParams {
    /// Validates `0 <= momentum <= 1` and `epsilon > 0` (both finite).
    pub fn new(momentum: f32, epsilon: f32) -> Result<Self, crate::error::KernelError> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(crate::error::KernelError::geometry(format!(
                "batchnorm: momentum must be in [0, 1], got {momentum}"
            )));
        }
        if !(epsilon > 0.0 && epsilon.is_finite()) {
            return Err(crate::error::KernelError::geometry(format!(
                "batchnorm: epsilon must be finite and > 0, got {epsilon}"
            )));
        }
        Ok(Self { momentum, epsilon })
    }
}

/// What the normalisation writes: `bn(x)` itself, or `max(bn(x), 0)` (the
/// training fusion with a following ReLU, bit-identical to the two kernels one
/// after the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchNormOutput {
    Linear,
    Relu,
}

/// The per-channel tensors (each `[c]`) of a training-mode forward: the
/// learned scale and shift it reads, the batch statistics it saves for the
/// backward (and the scale `gamma·inv_std` it applied, which the fused ReLU's
/// backward recomputes its mask with), and the running statistics it updates
/// in place.
pub struct TrainChannels<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub save_mean: &'a mut [f32],
    pub save_inv_std: &'a mut [f32],
    pub save_scale: &'a mut [f32],
    pub running_mean: &'a mut [f32],
    pub running_var: &'a mut [f32],
}

/// Training-mode forward: normalises with the batch statistics, writes `y`,
/// `save_mean` and `save_inv_std`, and updates `running_mean`/`running_var`
/// in place (Keras convention, see the module doc).
pub fn batchnorm_fwd_train(g: &BatchNormGeom, p: &BatchNormParams, out: BatchNormOutput, x: &[f32], ch: TrainChannels<'_>, y: &mut [f32], scratch: &mut [f32]) {
    match out {
        BatchNormOutput::Linear => fwd_train::<false>(g, p, x, ch, y, scratch),
        BatchNormOutput::Relu => fwd_train::<true>(g, p, x, ch, y, scratch),
    }
}

fn fwd_train<const RELU: bool>(g: &BatchNormGeom, p: &BatchNormParams, x: &[f32], ch: TrainChannels<'_>, y: &mut [f32], scratch: &mut [f32]) {
    let TrainChannels { gamma, beta, save_mean, save_inv_std, save_scale: scale, running_mean, running_var } = ch;
    debug_check(g, "batchnorm_fwd_train", &[x, y], &[gamma, beta, save_mean, save_inv_std, scale, running_mean, running_var], scratch);
    let (c, rows) = (g.c, g.rows as f64);
    let (coef, parts) = scratch.split_at_mut(4 * c);
    let neg_mean = &mut coef[..c];

    // Pass 1: per-chunk sums of x.
    partials(g, parts, 1, |row0, nrows, part| {
        add_column_sums(part, &x[row0 * c..(row0 + nrows) * c]);
    });
    combine(parts, chunks(g), c, |ch, sum| save_mean[ch] = (sum / rows) as f32);
    for ch in 0..c {
        neg_mean[ch] = -save_mean[ch];
    }
    // Pass 2: per-chunk sums of (x - mean)², with the f32 mean backward sees.
    let neg_mean_r: &[f32] = neg_mean;
    partials(g, parts, 1, |row0, nrows, part| {
        for_columns(c, &mut SquaredDeviations { sums: part, x: &x[row0 * c..(row0 + nrows) * c], neg_mean: neg_mean_r });
    });
    let (m, one_m) = (p.momentum, 1.0 - p.momentum);
    combine(parts, chunks(g), c, |ch, ssd| {
        let var = ssd / rows;
        let inv_std = 1.0 / (var + p.epsilon as f64).sqrt();
        save_inv_std[ch] = inv_std as f32;
        scale[ch] = (gamma[ch] as f64 * inv_std) as f32;
        running_mean[ch] = running_mean[ch] * m + save_mean[ch] * one_m;
        running_var[ch] = running_var[ch] * m + var as f32 * one_m;
    });
    normalize::<RELU>(g, x, neg_mean, scale, beta, y);
}

/// Inference-mode forward: `y = gamma·(x - running_mean)/sqrt(running_var + epsilon) + beta`.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_fwd_infer(
    g: &BatchNormGeom,
    p: &BatchNormParams,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    debug_check(g, "batchnorm_fwd_infer", &[x, y], &[gamma, beta, running_mean, running_var], scratch);
    let c = g.c;
    let (neg_mean, rest) = scratch.split_at_mut(c);
    let scale = &mut rest[..c];
    for ch in 0..c {
        neg_mean[ch] = -running_mean[ch];
        let inv_std = 1.0 / (running_var[ch] as f64 + p.epsilon as f64).sqrt();
        scale[ch] = (gamma[ch] as f64 * inv_std) as f32;
    }
    normalize::<false>(g, x, neg_mean, scale, beta, y);
}

/// Inference-mode backward (frozen statistics: `y` is affine in `x`):
/// `dx = dy · gamma / sqrt(running_var + eps)`, overwritten. The parameters
/// get no gradient in this mode (Grad-CAM is its user).
pub fn batchnorm_bwd_infer(g: &BatchNormGeom, p: &BatchNormParams, dy: &[f32], gamma: &[f32], running_var: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    debug_check(g, "batchnorm_bwd_infer", &[dy, dx], &[gamma, running_var], scratch);
    let c = g.c;
    let scale = &mut scratch[..c];
    for ch in 0..c {
        scale[ch] = (gamma[ch] as f64 / (running_var[ch] as f64 + p.epsilon as f64).sqrt()) as f32;
    }
    for (dx_r, dy_r) in dx.chunks_exact_mut(c).zip(dy.chunks_exact(c)) {
        for ch in 0..c {
            dx_r[ch] = dy_r[ch] * scale[ch];
        }
    }
}

/// The gradient arriving at a training-mode forward's output: of `bn(x)`, or
/// (`Relu`) of the fused forward's `y = max(bn(x), 0)`, masked by `y > 0` as it
/// is read, which reproduces `activation::relu_bwd` then the plain backward
/// bit for bit. `y > 0` is recomputed from `x` with that forward's `beta` and
/// `save_scale` (`TrainChannels`).
#[derive(Clone, Copy)]
pub enum OutputGrad<'a> {
    Linear(&'a [f32]),
    Relu { dy: &'a [f32], beta: &'a [f32], save_scale: &'a [f32] },
}

/// What the training-mode backward reads of its forward (each `[c]`).
#[derive(Clone, Copy)]
pub struct SavedChannels<'a> {
    pub gamma: &'a [f32],
    pub save_mean: &'a [f32],
    pub save_inv_std: &'a [f32],
}

/// The parameter gradients of the training-mode backward (each `[c]`,
/// overwritten).
pub struct ParamGrads<'a> {
    pub dgamma: &'a mut [f32],
    pub dbeta: &'a mut [f32],
}

/// Training-mode backward: writes `dx`, `dgamma`, `dbeta` (all overwritten)
/// from `x`, the output gradient and the forward's saved statistics.
pub fn batchnorm_bwd(g: &BatchNormGeom, x: &[f32], dy: OutputGrad<'_>, saved: SavedChannels<'_>, dx: &mut [f32], grads: ParamGrads<'_>, scratch: &mut [f32]) {
    let SavedChannels { gamma, save_mean, save_inv_std } = saved;
    let (dy, mask) = match dy {
        OutputGrad::Linear(dy) => (dy, None),
        OutputGrad::Relu { dy, beta, save_scale } => (dy, Some(Mask { beta, scale: save_scale })),
    };
    debug_check(g, "batchnorm_bwd", &[x, dy, dx], &[gamma, save_mean, save_inv_std, grads.dgamma, grads.dbeta], scratch);
    match mask {
        Some(mask) => {
            debug_check(g, "batchnorm_bwd (ReLU mask)", &[], &[mask.beta, mask.scale], scratch);
            bwd::<true>(g, x, dy, mask, saved, dx, grads, scratch)
        }
        None => bwd::<false>(g, x, dy, Mask { beta: &[], scale: &[] }, saved, dx, grads, scratch),
    }
}

/// With `RELU`, `dy` counts only where `mask` says the fused forward's output
/// was positive; otherwise `mask` is empty.
#[allow(clippy::too_many_arguments)]
fn bwd<const RELU: bool>(g: &BatchNormGeom, x: &[f32], dy: &[f32], mask: Mask<'_>, saved: SavedChannels<'_>, dx: &mut [f32], grads: ParamGrads<'_>, scratch: &mut [f32]) {
    let SavedChannels { gamma, save_mean, save_inv_std } = saved;
    let ParamGrads { dgamma, dbeta } = grads;
    let (c, rows) = (g.c, g.rows as f64);
    let (coef, parts) = scratch.split_at_mut(4 * c);
    let (neg_mean, coef) = coef.split_at_mut(c);
    let (a, coef) = coef.split_at_mut(c);
    let (b, c0) = coef.split_at_mut(c);
    for ch in 0..c {
        neg_mean[ch] = -save_mean[ch];
    }
    // Per-chunk sums of dy (slots 0..c) and dy·(x - mean) (slots c..2c).
    let neg_mean_r: &[f32] = neg_mean;
    let span = |row0: usize, nrows: usize| row0 * c..(row0 + nrows) * c;
    let grad = |r: core::ops::Range<usize>| OutGrad::<RELU> { dy: &dy[r], mask };
    partials(g, parts, 2, |row0, nrows, part| {
        let (s_dy, s_dyx) = part.split_at_mut(c);
        let r = span(row0, nrows);
        for_columns(c, &mut GradientSums { s_dy, s_dyx, grad: grad(r.clone()), x: &x[r], neg_mean: neg_mean_r });
    });
    // dx = a·dy + b·(x - mean) + c0 with a = gamma·inv_std,
    // b = -a·inv_std·dgamma/rows, c0 = -a·dbeta/rows.
    combine(parts, chunks(g), 2 * c, |j, sum| {
        let ch = j % c;
        let (gm, is) = (gamma[ch] as f64, save_inv_std[ch] as f64);
        if j < c {
            dbeta[ch] = sum as f32;
            a[ch] = (gm * is) as f32;
            c0[ch] = (-gm * is * sum / rows) as f32;
        } else {
            let dg = sum * is;
            dgamma[ch] = dg as f32;
            b[ch] = (-gm * is * is * dg / rows) as f32;
        }
    });
    let (a, b, c0): (&[f32], &[f32], &[f32]) = (a, b, c0);
    for_each_row_chunk(g, dx, |row0, dx| {
        let r = span(row0, dx.len() / c);
        for_columns(c, &mut InputGradient { dx, grad: grad(r.clone()), x: &x[r], neg_mean: neg_mean_r, a, b, c0 });
    });
}

/// `y = beta + (x + neg_mean)·scale` per channel (then `max(y, 0)` with
/// `RELU`), in parallel row chunks.
fn normalize<const RELU: bool>(g: &BatchNormGeom, x: &[f32], neg_mean: &[f32], scale: &[f32], beta: &[f32], y: &mut [f32]) {
    let c = g.c;
    for_each_row_chunk(g, y, |row0, y| {
        let x = &x[row0 * c..row0 * c + y.len()];
        for_columns(c, &mut Normalize::<RELU> { y, x, neg_mean, scale, beta });
    });
}

fn debug_check(g: &BatchNormGeom, op: &str, full: &[&[f32]], per_channel: &[&[f32]], scratch: &[f32]) {
    for (i, s) in full.iter().enumerate() {
        debug_assert_eq!(s.len(), g.len(), "{op} {g:?}: tensor argument {i}");
    }
    for (i, s) in per_channel.iter().enumerate() {
        debug_assert_eq!(s.len(), g.c, "{op} {g:?}: per-channel argument {i}");
    }
    debug_assert!(scratch.len() >= scratch_len(g), "{op} {g:?}: scratch");
    let _ = (g, op, full, per_channel, scratch);
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod relu_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) use columns::tests as column_tests;
