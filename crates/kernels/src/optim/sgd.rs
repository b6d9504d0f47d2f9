//! Stochastic gradient descent with optional momentum and Nesterov momentum,
//! in Keras' formulation (`keras.optimizers.SGD`):
//!
//! - momentum 0: `p = p - lr · g` (the velocity is not used);
//! - momentum `μ > 0`: `v = μ · v - lr · g`, then
//!   `p = p + v` (classic) or `p = p + μ · v - lr · g` (Nesterov),
//!   with `v` the updated velocity.
//!
//! PyTorch's `SGD(momentum=μ)` keeps `b = μ · b + g` and steps `p -= lr · b`;
//! with a constant learning rate the two produce the same parameters
//! (`v = -lr · b`), but they differ when the rate changes between steps.

use super::{check_len, check_non_negative, plan};
use crate::chunked;
use crate::error::KernelError;
use crate::simd::F32x4;
use crate::vecops;

/// SGD hyperparameters other than the learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdParams {
    /// In `[0, 1]`; 0 is plain SGD.
    pub momentum: f32,
    /// Nesterov momentum (no effect when `momentum` is 0).
    pub nesterov: bool,
}

impl SgdParams {
    pub fn new(momentum: f32, nesterov: bool) -> Result<Self, KernelError> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(KernelError::value(format!("sgd: momentum must be in [0, 1], got {momentum}")));
        }
        Ok(Self { momentum, nesterov })
    }
}

/// One SGD step over the flat buffers.
///
/// - `params`: `[len]`, updated in place
/// - `grads`: `[len]`
/// - `velocity`: `[len]` when `momentum > 0` (zeros before the first step),
///   updated in place; empty (or `[len]`, left untouched) when `momentum` is 0
/// - `lr`: this step's learning rate, finite and `>= 0`
pub fn sgd_step(h: &SgdParams, lr: f32, params: &mut [f32], grads: &[f32], velocity: &mut [f32]) -> Result<(), KernelError> {
    const K: &str = "sgd";
    check_non_negative(K, "learning rate", lr)?;
    let len = params.len();
    check_len(K, "grads", grads.len(), len)?;
    if h.momentum == 0.0 && velocity.is_empty() {
        // Plain SGD needs no velocity.
    } else {
        check_len(K, "velocity", velocity.len(), len)?;
    }
    let (chunk, parallel) = plan(len);
    let neg_lr = -lr;
    if h.momentum == 0.0 {
        chunked::zip_chunks_mut([params], chunk, parallel, |off, [p]| vecops::axpy(p, neg_lr, &grads[off..off + p.len()]));
    } else {
        chunked::zip_chunks_mut([params, velocity], chunk, parallel, |off, [p, v]| {
            momentum(h.momentum, h.nesterov, neg_lr, p, &grads[off..off + p.len()], v)
        });
    }
    Ok(())
}

/// `v = v · μ + g · (-lr)`; `p = p + v` or, Nesterov, `p = p + (v · μ + g · (-lr))`.
fn momentum(mu: f32, nesterov: bool, neg_lr: f32, p: &mut [f32], g: &[f32], v: &mut [f32]) {
    let len = p.len();
    let (muv, nl) = (F32x4::splat(mu), F32x4::splat(neg_lr));
    let mut i = 0;
    while i + 4 <= len {
        let gv = F32x4::load(&g[i..]);
        let vv = F32x4::load(&v[i..]).mul(muv).mul_add(gv, nl);
        vv.store(&mut v[i..]);
        let step = if nesterov { vv.mul(muv).mul_add(gv, nl) } else { vv };
        F32x4::load(&p[i..]).add(step).store(&mut p[i..]);
        i += 4;
    }
    for j in i..len {
        let vj = v[j] * mu + g[j] * neg_lr;
        v[j] = vj;
        p[j] += if nesterov { vj * mu + g[j] * neg_lr } else { vj };
    }
}
