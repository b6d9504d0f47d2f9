//! Gradient clipping by global norm (Keras `global_clipnorm`, PyTorch
//! `clip_grad_norm_`, TF `clip_by_global_norm`) over the flat gradient buffer.
//!
//! `norm = sqrt(sum(g²))` over every gradient; if `norm > max_norm`, every
//! gradient is multiplied by `max_norm / norm` (computed in f64, rounded to
//! f32). `sum(g²)` is accumulated in f64 over fixed chunks combined in chunk
//! order, so the norm is bit-identical whatever the thread count.

use super::{check_non_negative, plan};
use crate::chunked;
use crate::error::KernelError;
use crate::par;
use crate::vecops;

/// `sqrt(sum(g²))` of `grads`, accumulated in f64 (deterministic).
pub fn global_norm(grads: &[f32]) -> f32 {
    norm_f64(grads) as f32
}

fn norm_f64(grads: &[f32]) -> f64 {
    let (chunk, parallel) = plan(grads.len());
    chunked::map_ranges(grads.len(), chunk, parallel, |r| chunked::sum_squares_f64(&grads[r])).sum_in_order().sqrt()
}

/// Scales `grads` (`[len]`, in place) so that their global norm is at most
/// `max_norm` (finite, `>= 0`) and returns the norm before clipping.
///
/// A non-finite norm (an overflowing or NaN gradient) is returned as is and
/// the gradients are left untouched, so the caller can skip the step.
pub fn clip_by_global_norm(grads: &mut [f32], max_norm: f32) -> Result<f32, KernelError> {
    check_non_negative("clip_by_global_norm", "max_norm", max_norm)?;
    let norm = norm_f64(grads);
    if norm.is_finite() && norm > max_norm as f64 {
        let scale = (max_norm as f64 / norm) as f32;
        let (chunk, parallel) = plan(grads.len());
        par::for_each_chunk_mut(grads, chunk, parallel, |_, g| vecops::scale_assign(g, scale));
    }
    Ok(norm as f32)
}


/// The parts `runs` (sorted, disjoint) of the gradient buffer: what a model
/// with frozen layers trains. One run covering the whole buffer gives exactly
/// the bits of `global_norm` / `clip_by_global_norm`.
fn sum_squares_runs(grads: &[f32], runs: &[super::ParamRange]) -> f64 {
    runs.iter()
        .map(|r| {
            let g = &grads[r.offset..r.end()];
            let (chunk, parallel) = plan(g.len());
            chunked::map_ranges(g.len(), chunk, parallel, |c| chunked::sum_squares_f64(&g[c])).sum_in_order()
        })
        .sum()
}

/// `global_norm` over `runs` only.
pub fn global_norm_runs(grads: &[f32], runs: &[super::ParamRange]) -> f32 {
    sum_squares_runs(grads, runs).sqrt() as f32
}

/// `clip_by_global_norm` over `runs` only (gradients outside are untouched).
pub fn clip_by_global_norm_runs(grads: &mut [f32], runs: &[super::ParamRange], max_norm: f32) -> Result<f32, KernelError> {
    check_non_negative("clip_by_global_norm", "max_norm", max_norm)?;
    let norm = sum_squares_runs(grads, runs).sqrt();
    if norm.is_finite() && norm > max_norm as f64 {
        let scale = (max_norm as f64 / norm) as f32;
        for r in runs {
            let g = &mut grads[r.offset..r.end()];
            let (chunk, parallel) = plan(g.len());
            par::for_each_chunk_mut(g, chunk, parallel, |_, g| vecops::scale_assign(g, scale));
        }
    }
    Ok(norm as f32)
}
