//! Row-major single-precision GEMM: `C[m×n] = A[m×k] · B[k×n] (+ bias[n])`.
//!
//! Layouts (all row-major, densely packed):
//! - `a`: `m × k`, element `(i, p)` at `a[i * k + p]`
//! - `b`: `k × n`, element `(p, j)` at `b[p * n + j]`
//! - `bias`: `n` (optional), added to every row
//! - `c`: `m × n`, fully overwritten
//!
//! Each `C(i, j)` is `sum_p A(i,p)·B(p,j)` accumulated in `p` order from zero,
//! then `+ bias(j)`: the same sequence of roundings on every path, so results
//! do not depend on the thread count or on which row block computed them.
//!
//! Work is split into row blocks (see `rows_per_chunk`); each block runs the
//! register-tiled microkernel in `microkernel.rs`.

mod epilogue;
mod kblock;
mod microkernel;
mod tile;

pub use epilogue::{Clamp, Epilogue};
pub(crate) use kblock::{gemm_kblock, gemm_kblock_packed, kblock_panel_len, packed_b_index, panels as packed_b_panels, KBlock, MR as KBLOCK_TILE_ROWS, NR as KBLOCK_PANEL_COLS};
pub(crate) use microkernel::{gemm_rows_strided, gemm_rows_with, OutRows, RowLayout};
pub(crate) use tile::fma_step;

use crate::geom::GemmGeom;
use crate::par;

/// Below this many flops a GEMM runs serially: a fork-join would cost more
/// than it saves (toolchain doc §11: ~50-100 µs of work).
const PARALLEL_MIN_FLOPS: f64 = 2.0e5;

/// Target work per parallel chunk (multiply-adds); keeps chunks big enough to
/// amortise scheduling and small enough to balance two or more threads.
const CHUNK_TARGET_MACS: usize = 1 << 16;

/// Rows per parallel chunk: a multiple of the microkernel's row count, chosen
/// from the geometry alone (never from the thread count).
pub fn rows_per_chunk(g: &GemmGeom) -> usize {
    let per_row = (g.k * g.n).max(1);
    let rows = (CHUNK_TARGET_MACS / per_row).max(1);
    rows.div_ceil(microkernel::MR) * microkernel::MR
}

/// Computes `c = a · b (+ bias)`. Slices must have exactly the geometry's
/// lengths (checked in debug builds; the FFI layer validates before calling).
pub fn gemm(g: &GemmGeom, a: &[f32], b: &[f32], bias: Option<&[f32]>, c: &mut [f32]) {
    gemm_with(g, a, b, Epilogue::from(bias), c);
}

/// `gemm` with an epilogue: the bias and a clamp (fused ReLU).
pub fn gemm_with(g: &GemmGeom, a: &[f32], b: &[f32], ep: Epilogue<'_>, c: &mut [f32]) {
    debug_assert_eq!(a.len(), g.a_len(), "gemm {g:?}: a");
    debug_assert_eq!(b.len(), g.b_len(), "gemm {g:?}: b");
    debug_assert_eq!(c.len(), g.c_len(), "gemm {g:?}: c");
    if let Some(bias) = ep.bias {
        debug_assert_eq!(bias.len(), g.n, "gemm {g:?}: bias");
    }
    let rows = rows_per_chunk(g);
    let parallel = g.flops() >= PARALLEL_MIN_FLOPS;
    par::for_each_chunk_mut(c, rows * g.n, parallel, |chunk, c_block| {
        let row0 = chunk * rows;
        let nrows = c_block.len() / g.n;
        let a_block = &a[row0 * g.k..(row0 + nrows) * g.k];
        microkernel::gemm_block(g.k, g.n, a_block, b, ep, c_block);
    });
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;

pub(crate) mod transposed;
pub use transposed::gemm_tn;
pub(crate) use transposed::gemm_tn_serial;
