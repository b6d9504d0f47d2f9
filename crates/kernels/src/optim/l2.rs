//! L2 regularisation of chosen parameter ranges (the kernels of layers that
//! have `kernelRegularizer: l2(lambda)`).
//!
//! For the parameters `W` inside the ranges and a coefficient `c`:
//! - penalty `c · sum(W²)` (added to the reported loss by the caller);
//! - gradient `grads += 2c · W`.
//!
//! "L2 lambda" has two readings (ARCHITECTURE.md §7):
//! - `L2Form::Keras`: Keras `l2(lambda)`, `c = lambda`: penalty
//!   `lambda · sum(W²)`, gradient `2 · lambda · W`;
//! - `L2Form::Study { batch }`: the study's code, `c = lambda / (2 · batch)`:
//!   penalty `lambda / (2 · batch) · sum(W²)`, gradient `lambda / batch · W`
//!   (about weight decay `lambda / batch`; 64x weaker than Keras' at
//!   lambda 0.1 and batch 32).

use super::{check_len, check_non_negative, for_each_overlap, plan, validate_ranges, ParamRange};
use crate::chunked;
use crate::error::KernelError;
use crate::vecops;

/// Which definition of "L2 with coefficient lambda" a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L2Form {
    /// Keras `l2(lambda)`: `lambda · sum(W²)`.
    Keras,
    /// The study's `lambda / (2 · batch) · sum(W²)`; `batch >= 1`.
    Study { batch: usize },
}

impl L2Form {
    /// `c` such that the penalty is `c · sum(W²)`.
    pub fn coefficient(self, lambda: f64) -> f64 {
        match self {
            L2Form::Keras => lambda,
            L2Form::Study { batch } => lambda / (2.0 * batch as f64),
        }
    }
}

/// Adds the gradient of the L2 penalty of `params` inside `ranges` to `grads`
/// and returns the penalty.
///
/// - `ranges`: sorted, disjoint, inside `0..params.len()`
/// - `params`: `[len]`; `grads`: `[len]`, updated in place inside the ranges
/// - `lambda`: finite and `>= 0`
///
/// `sum(W²)` is accumulated in f64 over fixed chunks combined in order; the
/// gradient uses `2c` rounded to f32: `g = g + W · (2c)`.
pub fn l2_penalty(form: L2Form, lambda: f32, ranges: &[ParamRange], params: &[f32], grads: &mut [f32]) -> Result<f32, KernelError> {
    const K: &str = "l2_penalty";
    check_non_negative(K, "lambda", lambda)?;
    if form == (L2Form::Study { batch: 0 }) {
        return Err(KernelError::value("l2_penalty: L2Form::Study batch must be >= 1, got 0"));
    }
    let len = params.len();
    check_len(K, "grads", grads.len(), len)?;
    validate_ranges(K, ranges, len)?;
    let c = form.coefficient(lambda as f64);
    let two_c = (2.0 * c) as f32;
    let (chunk, parallel) = plan(len);
    let partials = chunked::zip_chunks_mut([grads], chunk, parallel, |off, [g]| {
        let w = &params[off..off + g.len()];
        let mut sum = 0.0f64;
        for_each_overlap(ranges, off, g.len(), |r| {
            sum += chunked::sum_squares_f64(&w[r.clone()]);
            vecops::axpy(&mut g[r.clone()], two_c, &w[r]);
        });
        sum
    });
    Ok((c * partials.sum_in_order()) as f32)
}

