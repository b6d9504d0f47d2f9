//! Binary cross-entropy for one sigmoid output per sample, from the logit.
//!
//! Per sample `i` (logit `z`, target `y` in `[0, 1]`, sample weight `w_i`):
//! - label smoothing (Keras `BinaryCrossentropy(label_smoothing=ls)`):
//!   `y_s = y · (1 - ls) + ls / 2`;
//! - `bce_i = max(z, 0) - z · y_s + log(1 + exp(-|z|))`, which equals
//!   `-(y_s · log σ(z) + (1 - y_s) · log(1 - σ(z)))` without overflow;
//! - `loss = sum_i w_i · bce_i / n` (Keras `class_weight` semantics);
//! - `dlogits_i = w_i / n · (σ(z) - y_s)`.
//!
//! The target class is positive when `y > 0.5`, the predicted class when
//! `σ(z) > 0.5` (i.e. `z > 0`); `w_i` is `class_weights[class]`, and a sample
//! is correct when both classes agree (accuracy at threshold 0.5; unlike
//! Keras' `binary_accuracy`, soft or smoothed targets still count).

use super::{finish, LossStats, MIN_CHUNK_ELEMS, PARALLEL_MIN_ELEMS};
use crate::chunked;
use crate::error::KernelError;

/// Sizes and options of a binary cross-entropy call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BceParams {
    pub n: usize,
    /// In `[0, 1]`; 0 disables smoothing.
    pub label_smoothing: f32,
}

impl BceParams {
    /// Validates `n >= 1` and `label_smoothing` (finite, in `[0, 1]`).
    pub fn new(n: usize, label_smoothing: f32) -> Result<Self, KernelError> {
        if n == 0 {
            return Err(KernelError::geometry("binary_cross_entropy: n must be >= 1, got 0"));
        }
        if n.checked_mul(4).is_none_or(|bytes| bytes > isize::MAX as usize) {
            return Err(KernelError::geometry(format!("binary_cross_entropy: n={n} is too large")));
        }
        if !(0.0..=1.0).contains(&label_smoothing) {
            return Err(KernelError::value(format!(
                "binary_cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}"
            )));
        }
        Ok(Self { n, label_smoothing })
    }
}

/// Computes the loss, the correct count at threshold 0.5, and `dlogits`.
///
/// - `logits`: `[n]` (the pre-sigmoid output)
/// - `targets`: `[n]`, each in `[0, 1]` (0/1 labels or soft targets)
/// - `class_weights`: `[w_negative, w_positive]` (optional, Keras'
///   `class_weight={0: .., 1: ..}`), finite and `>= 0`
/// - `dlogits`: `[n]`, fully overwritten with `d(loss)/d(logits)`
///
/// Errors (nothing is written): slice lengths other than `n`, a target
/// outside `[0, 1]` (naming the row), a negative or non-finite class weight.
pub fn binary_cross_entropy(
    p: &BceParams,
    logits: &[f32],
    targets: &[f32],
    class_weights: Option<[f32; 2]>,
    dlogits: &mut [f32],
) -> Result<LossStats, KernelError> {
    validate(p, logits, targets, class_weights, dlogits)?;
    let n = p.n;
    let n_f = n as f32;
    let keep = 1.0 - p.label_smoothing;
    let half_ls = 0.5 * p.label_smoothing;
    let cw = class_weights.unwrap_or([1.0, 1.0]);
    let chunk = chunked::chunk_len(n, MIN_CHUNK_ELEMS, 1);
    let partials = chunked::zip_chunks_mut([dlogits], chunk, n >= PARALLEL_MIN_ELEMS, |offset, [d]| {
        let mut loss = 0.0f64;
        let mut correct = 0u64;
        for (k, dk) in d.iter_mut().enumerate() {
            let i = offset + k;
            let (z, y) = (logits[i], targets[i]);
            let class = (y > 0.5) as usize;
            let w = cw[class];
            let ys = y * keep + half_ls;
            let e = (-z.abs()).exp();
            let bce = (z.max(0.0) as f64 - z as f64 * ys as f64) + e.ln_1p() as f64;
            let sigma = if z >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            *dk = w / n_f * (sigma - ys);
            loss += w as f64 * bce;
            correct += ((z > 0.0) as usize == class) as u64;
        }
        (loss, correct)
    });
    Ok(finish(partials.as_slice(), n))
}

fn validate(
    p: &BceParams,
    logits: &[f32],
    targets: &[f32],
    class_weights: Option<[f32; 2]>,
    dlogits: &[f32],
) -> Result<(), KernelError> {
    let n = p.n;
    for (name, len) in [("logits", logits.len()), ("targets", targets.len()), ("dlogits", dlogits.len())] {
        if len != n {
            return Err(KernelError::geometry(format!("binary_cross_entropy: {name} has {len} elements, expected n = {n}")));
        }
    }
    if let Some((i, &y)) = targets.iter().enumerate().find(|&(_, &y)| !(0.0..=1.0).contains(&y)) {
        return Err(KernelError::value(format!("binary_cross_entropy: target {y} at row {i} is outside [0, 1]")));
    }
    if let Some(cw) = class_weights {
        if let Some((j, &v)) = cw.iter().enumerate().find(|&(_, &v)| !(v.is_finite() && v >= 0.0)) {
            return Err(KernelError::value(format!(
                "binary_cross_entropy: class weight {v} of class {j} must be finite and >= 0"
            )));
        }
    }
    Ok(())
}
