//! Optimizers and gradient transforms over the model's flat buffers.
//!
//! Every parameter of a model lives in one contiguous `params` buffer, its
//! gradient at the same index of `grads`, and each optimizer slot (velocity,
//! Adam moments) likewise, so each function here is one pass over flat slices.
//! Parts of the buffer (e.g. kernels but not biases or batch-norm parameters)
//! are named by `ParamRange`s. The learning rate is an argument of every call,
//! so schedules live in the caller.
//!
//! - `sgd_step`: SGD, momentum and Nesterov (Keras' formulas);
//! - `adam_step`, `adamw_step`: Adam with bias correction; AdamW's decoupled
//!   weight decay on chosen ranges only;
//! - `l2_penalty`: L2 regularisation of chosen ranges, Keras' `l2(lambda)` or
//!   the study's `lambda / (2 · batch)` reading (ARCHITECTURE.md §7);
//! - `clip_by_global_norm`, `global_norm`: deterministic norm of all grads.
//!
//! Elementwise loops use `F32x4` with a scalar tail doing the same operations
//! in the same order, so each element gets the same roundings on every path.
//! Reductions are f64 partials over fixed chunks combined in chunk order
//! (`crate::chunked`), bit-identical whatever the thread count.

mod adam;
mod clip;
mod l2;
mod sgd;

pub use adam::{adam_step, adamw_step, AdamParams, WeightDecay};
pub use clip::{clip_by_global_norm, clip_by_global_norm_runs, global_norm, global_norm_runs};
pub use l2::{l2_penalty, L2Form};
pub use sgd::{sgd_step, SgdParams};

use core::ops::Range;

use crate::chunked;
use crate::error::KernelError;

/// The part `offset..offset + len` of the flat parameter buffer (one tensor,
/// or several adjacent ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamRange {
    pub offset: usize,
    pub len: usize,
}

impl ParamRange {
    pub fn end(&self) -> usize {
        self.offset + self.len
    }
}

/// Below this many parameters a pass runs serially.
const PARALLEL_MIN_ELEMS: usize = 1 << 15;

/// Smallest chunk of a parallel pass (a multiple of the SIMD width).
const MIN_CHUNK_ELEMS: usize = 1 << 13;

/// Chunk length and parallel flag for a pass over `total` parameters.
fn plan(total: usize) -> (usize, bool) {
    (chunked::chunk_len(total, MIN_CHUNK_ELEMS, 4), total >= PARALLEL_MIN_ELEMS)
}

/// `got == want`, else an error naming the kernel and the slice.
fn check_len(kernel: &str, name: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got == want {
        Ok(())
    } else {
        Err(KernelError::geometry(format!("{kernel}: {name} has {got} elements, expected {want} (the length of params)")))
    }
}

/// A hyperparameter that must be finite and `>= 0` (learning rate, decay...).
fn check_non_negative(kernel: &str, name: &str, v: f32) -> Result<(), KernelError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(KernelError::value(format!("{kernel}: {name} must be finite and >= 0, got {v}")))
    }
}

/// Ranges must lie inside `0..total`, be sorted by offset and not overlap (so
/// no parameter is decayed or penalised twice).
fn validate_ranges(kernel: &str, ranges: &[ParamRange], total: usize) -> Result<(), KernelError> {
    let mut prev_end = 0;
    for (i, r) in ranges.iter().enumerate() {
        match r.offset.checked_add(r.len) {
            Some(end) if end <= total => {}
            _ => {
                return Err(KernelError::geometry(format!(
                    "{kernel}: range {i} (offset {}, len {}) lies outside the {total} parameters",
                    r.offset, r.len
                )))
            }
        }
        if i > 0 && r.offset < prev_end {
            return Err(KernelError::geometry(format!(
                "{kernel}: range {i} (offset {}, len {}) overlaps or precedes range {} ending at {prev_end}; ranges must be sorted and disjoint",
                r.offset,
                r.len,
                i - 1
            )));
        }
        prev_end = r.end();
    }
    Ok(())
}

/// Calls `f(local)` for each non-empty intersection of the (sorted, disjoint)
/// `ranges` with the chunk `chunk_start..chunk_start + chunk_len`, in order,
/// with `local` relative to the chunk start.
fn for_each_overlap(ranges: &[ParamRange], chunk_start: usize, chunk_len: usize, mut f: impl FnMut(Range<usize>)) {
    let chunk_end = chunk_start + chunk_len;
    let first = ranges.partition_point(|r| r.end() <= chunk_start);
    for r in &ranges[first..] {
        if r.offset >= chunk_end {
            break;
        }
        let (start, end) = (r.offset.max(chunk_start), r.end().min(chunk_end));
        if start < end {
            f(start - chunk_start..end - chunk_start);
        }
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
