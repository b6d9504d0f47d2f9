//! Cross-entropy of probabilities `[n, classes]` (Keras'
//! `categorical_crossentropy` with `from_logits=False`), for a model whose
//! output is already a distribution that no final Softmax step produces: an
//! ensemble's averaged softmax outputs (an `Average` of Softmax steps). The
//! softmax of such an output would be a different, wrong loss.
//!
//! Per row `i` (probabilities `p`, target distribution `t` with the label
//! smoothing of `softmax_cross_entropy`, sample weight `w_i`):
//! - `q_j = max(p_j, EPSILON)`: Keras clips at its epsilon (1e-7), so a
//!   probability of 0 gives a large finite loss rather than infinity;
//! - `ce_i = -sum_j t_j · ln q_j`;
//! - `loss = sum_i w_i · ce_i / n` (Keras `class_weight` semantics, as the
//!   other losses);
//! - `dp_ij = -w_i / n · t_j / p_j` where `p_j > EPSILON`, else 0 (the clip's
//!   derivative).
//!
//! Keras also rescales each row to sum to 1 first; rows of averaged softmax
//! outputs already do (up to rounding), so this kernel takes them as they are
//! and its gradient is the plain one. A prediction is the argmax of `p`
//! (first maximum on ties), the class of a row as in `softmax_cross_entropy`.

use super::softmax_ce::{argmax, per_row, validate, RowTarget};
use super::{LossStats, SoftmaxCeParams, Targets};
use crate::error::KernelError;

/// Keras' `epsilon()`: the smallest probability the loss takes the log of.
pub const EPSILON: f32 = 1e-7;

/// Computes the loss, the correct count, and `dprobs = d(loss)/d(probs)`.
/// Sizes, targets and class weights as `softmax_cross_entropy` (`p.n` rows of
/// `p.classes` probabilities); `dprobs` is fully overwritten. Errors (nothing
/// is written): mismatched lengths, a label out of range, a negative or
/// non-finite target or class weight.
pub fn probability_cross_entropy(
    p: &SoftmaxCeParams,
    probs: &[f32],
    targets: Targets<'_>,
    class_weights: Option<&[f32]>,
    dprobs: &mut [f32],
) -> Result<LossStats, KernelError> {
    validate(["probability_cross_entropy", "probs", "dprobs"], p, probs, targets, class_weights, dprobs)?;
    let ls = p.label_smoothing;
    Ok(per_row(p, probs, targets, class_weights, dprobs, |q, target, scale, d| (row(q, target, ls, scale, d), argmax(q))))
}

/// One row: writes `-scale · t_j / p_j` (0 where `p_j` is clipped) into `d`
/// and returns `ce`.
#[inline]
fn row(probs: &[f32], target: RowTarget<'_>, ls: f32, scale: f32, d: &mut [f32]) -> f64 {
    let classes = probs.len();
    let keep = 1.0 - ls;
    let spread = ls / classes as f32;
    let mut ce = 0.0f64;
    for (j, (dj, &pj)) in d.iter_mut().zip(probs).enumerate() {
        let t = match target {
            RowTarget::Class(y) => {
                if j == y {
                    keep + spread
                } else {
                    spread
                }
            }
            RowTarget::Dense(y) => y[j] * keep + spread,
        };
        let q = pj.max(EPSILON);
        ce -= t as f64 * (q as f64).ln();
        *dj = if pj > EPSILON { -scale * t / pj } else { 0.0 };
    }
    ce
}
