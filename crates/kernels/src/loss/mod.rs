//! Losses fused with their gradient: one pass computes the mean loss over the
//! batch, the number of correct predictions, and `d(loss)/d(logits)` (already
//! divided by the batch size `n`, so it feeds the backward pass directly).
//!
//! - `softmax_cross_entropy`: logits `[n, classes]`, integer labels or dense
//!   (one-hot / soft) target rows, optional class weights and label smoothing.
//! - `binary_cross_entropy`: one sigmoid output per sample, from the logit.
//! - `probability_cross_entropy`: probabilities `[n, classes]` that no final
//!   Softmax produced (an ensemble's averaged outputs), as Keras'
//!   `from_logits=False`.
//!
//! Weighting follows Keras' `class_weight`: each sample gets the weight of its
//! class and the loss is `sum_i w_i · loss_i / n` (divided by `n`, not by
//! `sum_i w_i` as PyTorch's `reduction='mean'` with `weight=` does).
//!
//! Rows are processed in fixed chunks (`crate::chunked`); per-chunk loss sums
//! are f64 and combined in chunk order, so the result does not depend on the
//! thread count.

mod bce;
mod probability_ce;
mod softmax_ce;

pub use bce::{binary_cross_entropy, BceParams};
pub use probability_ce::{probability_cross_entropy, EPSILON as PROBABILITY_EPSILON};
pub use softmax_ce::{softmax_cross_entropy, SoftmaxCeParams, Targets};

/// Result of a loss kernel (the gradient is written to the caller's slice).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossStats {
    /// Mean (class-weighted) loss over the batch.
    pub loss: f32,
    /// Samples whose prediction matches the target class.
    pub correct: usize,
}

/// Below this many logits a loss runs serially.
const PARALLEL_MIN_ELEMS: usize = 1 << 14;

/// Smallest chunk (in logits) of a parallel loss pass.
const MIN_CHUNK_ELEMS: usize = 4096;

/// Combines per-chunk `(loss sum, correct)` partials in chunk order.
fn finish(partials: &[(f64, u64)], n: usize) -> LossStats {
    let (sum, correct) = partials.iter().fold((0.0f64, 0u64), |(s, c), &(ps, pc)| (s + ps, c + pc));
    LossStats { loss: (sum / n as f64) as f32, correct: correct as usize }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
