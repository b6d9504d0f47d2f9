//! Adam and AdamW with bias correction.
//!
//! Step `t` (1 for the first step), gradient `g`, first and second moments
//! `m`, `v` (zeros before the first step):
//! - `m = β1 · m + (1 - β1) · g`
//! - `v = β2 · v + (1 - β2) · g²`
//! - `m̂ = m / (1 - β1^t)`, `v̂ = v / (1 - β2^t)`
//! - `p = p - lr · m̂ / (sqrt(v̂) + ε)`
//!
//! This is the paper's Algorithm 1 and PyTorch's form: `ε` is added to
//! `sqrt(v̂)`. Keras adds `ε` to `sqrt(v)` instead (its effective `ε` on `v̂`
//! is `ε / sqrt(1 - β2^t)`); the two differ only while `sqrt(v̂)` is within a
//! few `ε` of zero. Defaults follow Keras (`AdamParams::KERAS`, `ε = 1e-7`).
//!
//! AdamW (Loshchilov & Hutter; Keras `AdamW`, PyTorch `AdamW`) first applies
//! decoupled weight decay `p = p - lr · wd · p` to the parameters inside the
//! decay ranges (e.g. kernels but not biases or batch-norm parameters), then
//! the Adam step above to every parameter.

use super::{check_len, check_non_negative, for_each_overlap, plan, validate_ranges, ParamRange};
use crate::chunked;
use crate::error::KernelError;
use crate::simd::F32x4;

/// Adam hyperparameters other than the learning rate. They are f64 so that
/// `1 - β` is rounded to f32 once (`1 - 0.9` becomes `0.1f32`, not
/// `1 - 0.9f32 = 0.100000024`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    /// In `[0, 1)`.
    pub beta1: f64,
    /// In `[0, 1)`.
    pub beta2: f64,
    /// Finite and `> 0`.
    pub epsilon: f64,
}

impl AdamParams {
    /// Keras' defaults: `β1 = 0.9`, `β2 = 0.999`, `ε = 1e-7`.
    pub const KERAS: AdamParams = AdamParams { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

    pub fn new(beta1: f64, beta2: f64, epsilon: f64) -> Result<Self, KernelError> {
        for (name, b) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(KernelError::value(format!("adam: {name} must be in [0, 1), got {b}")));
            }
        }
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(KernelError::value(format!("adam: epsilon must be finite and > 0, got {epsilon}")));
        }
        Ok(Self { beta1, beta2, epsilon })
    }
}

/// AdamW's decoupled weight decay: `rate` (Keras `weight_decay`, e.g. 0.004)
/// applied to the parameters inside `ranges` (sorted, disjoint).
#[derive(Debug, Clone, Copy)]
pub struct WeightDecay<'a> {
    pub rate: f32,
    pub ranges: &'a [ParamRange],
}

/// One Adam step over the flat buffers.
///
/// - `params`: `[len]`, updated in place
/// - `grads`: `[len]`
/// - `m`, `v`: `[len]` first and second moments, updated in place
/// - `lr`: this step's learning rate, finite and `>= 0`; `t`: step number, `>= 1`
pub fn adam_step(
    h: &AdamParams,
    lr: f32,
    t: u32,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) -> Result<(), KernelError> {
    adam_impl("adam", h, lr, t, None, params, grads, m, v)
}

/// One AdamW step: decay inside `decay.ranges`, then `adam_step`. Layouts and
/// arguments as in `adam_step`.
#[allow(clippy::too_many_arguments)]
pub fn adamw_step(
    h: &AdamParams,
    lr: f32,
    t: u32,
    decay: &WeightDecay<'_>,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) -> Result<(), KernelError> {
    adam_impl("adamw", h, lr, t, Some(decay), params, grads, m, v)
}

/// Per-step constants, computed in f64 and rounded to f32 once.
#[derive(Clone, Copy)]
struct Consts {
    b1: f32,
    b2: f32,
    one_minus_b1: f32,
    one_minus_b2: f32,
    /// `1 / (1 - β2^t)`
    c2: f32,
    /// `lr / (1 - β1^t)`
    lr_c1: f32,
    eps: f32,
}

#[allow(clippy::too_many_arguments)]
fn adam_impl(
    kernel: &str,
    h: &AdamParams,
    lr: f32,
    t: u32,
    decay: Option<&WeightDecay<'_>>,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) -> Result<(), KernelError> {
    check_non_negative(kernel, "learning rate", lr)?;
    if t == 0 {
        return Err(KernelError::value(format!("{kernel}: step t must be >= 1 (the first step is 1), got 0")));
    }
    let len = params.len();
    check_len(kernel, "grads", grads.len(), len)?;
    check_len(kernel, "m", m.len(), len)?;
    check_len(kernel, "v", v.len(), len)?;
    if let Some(d) = decay {
        check_non_negative(kernel, "weight decay", d.rate)?;
        validate_ranges(kernel, d.ranges, len)?;
    }
    let tf = t as f64;
    let c = Consts {
        b1: h.beta1 as f32,
        b2: h.beta2 as f32,
        one_minus_b1: (1.0 - h.beta1) as f32,
        one_minus_b2: (1.0 - h.beta2) as f32,
        c2: (1.0 / (1.0 - h.beta2.powf(tf))) as f32,
        lr_c1: (lr as f64 / (1.0 - h.beta1.powf(tf))) as f32,
        eps: h.epsilon as f32,
    };
    let lr_wd = decay.map(|d| (d.ranges, lr * d.rate));
    let (chunk, parallel) = plan(len);
    chunked::zip_chunks_mut([params, m, v], chunk, parallel, |off, [p, m, v]| {
        if let Some((ranges, lr_wd)) = lr_wd {
            for_each_overlap(ranges, off, p.len(), |r| decay_slice(lr_wd, &mut p[r]));
        }
        update(&c, p, &grads[off..off + p.len()], m, v);
    });
    Ok(())
}

/// `p = p - p · (lr · wd)`.
fn decay_slice(lr_wd: f32, p: &mut [f32]) {
    let len = p.len();
    let k = F32x4::splat(lr_wd);
    let mut i = 0;
    while i + 4 <= len {
        let pv = F32x4::load(&p[i..]);
        pv.sub(pv.mul(k)).store(&mut p[i..]);
        i += 4;
    }
    for x in &mut p[i..] {
        *x -= *x * lr_wd;
    }
}

/// The Adam update of one chunk, in this order of roundings:
/// `m = m·β1 + g·(1-β1)`; `v = v·β2 + (g·g)·(1-β2)`;
/// `p = p - (m·lr_c1) / (sqrt(v·c2) + ε)`.
fn update(c: &Consts, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let len = p.len();
    let (b1, b2) = (F32x4::splat(c.b1), F32x4::splat(c.b2));
    let (omb1, omb2) = (F32x4::splat(c.one_minus_b1), F32x4::splat(c.one_minus_b2));
    let (c2, lr_c1, eps) = (F32x4::splat(c.c2), F32x4::splat(c.lr_c1), F32x4::splat(c.eps));
    let mut i = 0;
    while i + 4 <= len {
        let gv = F32x4::load(&g[i..]);
        let mv = F32x4::load(&m[i..]).mul(b1).mul_add(gv, omb1);
        let vv = F32x4::load(&v[i..]).mul(b2).mul_add(gv.mul(gv), omb2);
        mv.store(&mut m[i..]);
        vv.store(&mut v[i..]);
        let den = vv.mul(c2).sqrt().add(eps);
        F32x4::load(&p[i..]).sub(mv.mul(lr_c1).div(den)).store(&mut p[i..]);
        i += 4;
    }
    for j in i..len {
        let gj = g[j];
        let mj = m[j] * c.b1 + gj * c.one_minus_b1;
        let vj = v[j] * c.b2 + (gj * gj) * c.one_minus_b2;
        m[j] = mj;
        v[j] = vj;
        let den = (vj * c.c2).sqrt() + c.eps;
        p[j] -= (mj * c.lr_c1) / den;
    }
}
