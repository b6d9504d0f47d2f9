//! Depthwise 2-D convolution (Keras `DepthwiseConv2D`, PyTorch `Conv2d` with
//! `groups = in_channels`), NHWC f32, weights `[k_h, k_w, c_in,
//! depth_multiplier]` (see `geom::DepthwiseGeom` for the formula and layouts).
//!
//! Each channel only meets its own filter, so there is no GEMM to form: every
//! pass is a set of per-channel dot products over a window (`dots.rs`), run in
//! SIMD lanes over the channels, which NHWC keeps contiguous.
//! - forward: each output pixel sums its window's taps (`fwd.rs`);
//! - input gradient: each input pixel gathers the taps that reach it, so every
//!   `dx` element is written once by one chunk (`bwd_input.rs`);
//! - weight and bias gradients: fixed groups of output rows reduce into their
//!   own partials in scratch, added in group order (`bwd_weight.rs`).
//!
//! Chunks and groups come from the geometry alone (`plan`), never from the
//! thread count, and every element is summed in an order the geometry fixes,
//! so results are bit-identical with any number of threads. Padding taps are
//! skipped (they read zeros). Only the weight gradient needs scratch
//! (`DepthwiseGeom::scratch_len`); nothing allocates.

mod bwd_input;
mod bwd_weight;
mod dots;
mod fwd;

use crate::geom::DepthwiseGeom;

/// Target multiply-adds per forward / input-gradient chunk.
const CHUNK_MACS: usize = 1 << 16;

/// Multiply-adds below which a pass runs serially (a fork-join costs more).
const PARALLEL_MIN_MACS: f64 = 1.0e5;

/// Upper bound on weight-gradient groups (each owns a partial in scratch).
const MAX_GROUPS: usize = 16;

/// Multiply-adds below which a further weight-gradient group is not worth it.
const GROUP_MIN_MACS: f64 = (1 << 16) as f64;

/// The split of one call's work, derived from the geometry alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Output rows (of `n·h_out`) per forward chunk.
    pub fwd_rows: usize,
    /// Input rows (of `n·h_in`) per input-gradient chunk.
    pub dx_rows: usize,
    /// Output rows per weight-gradient group; the last group may be shorter.
    pub group_rows: usize,
    /// Number of weight-gradient groups, at most `MAX_GROUPS`.
    pub groups: usize,
    /// Whether chunks and groups may run on the pool.
    pub parallel: bool,
}

pub(crate) fn plan(g: &DepthwiseGeom) -> Plan {
    let c_out = g.c_out();
    let fwd_row_macs = g.w_out * c_out * g.k_h * g.k_w;
    // About k_h/stride_h · k_w/stride_w taps reach each input pixel.
    let dx_row_macs = g.w_in * c_out * g.k_h.div_ceil(g.stride_h) * g.k_w.div_ceil(g.stride_w);
    let rows = g.n * g.h_out;
    let macs = g.macs();
    let wanted = ((macs / GROUP_MIN_MACS) as usize).clamp(1, MAX_GROUPS).min(rows);
    let group_rows = rows.div_ceil(wanted);
    Plan {
        fwd_rows: (CHUNK_MACS / fwd_row_macs).max(1),
        dx_rows: (CHUNK_MACS / dx_row_macs).max(1),
        group_rows,
        groups: rows.div_ceil(group_rows),
        parallel: macs >= PARALLEL_MIN_MACS,
    }
}

impl DepthwiseGeom {
    /// Scratch elements `depthwise_bwd_weight` needs: one `dw` and `db`
    /// partial per group (at most `MAX_GROUPS` of them).
    pub fn scratch_len(&self) -> usize {
        plan(self).groups * bwd_weight::group_scratch_len(self)
    }
}

/// `y = depthwise(x, w) + bias` (`bias` optional, `[c_out]`); see
/// `DepthwiseGeom` for the formula and layouts. `y` is fully overwritten.
pub fn depthwise_fwd(g: &DepthwiseGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "depthwise_fwd {g:?}: x");
    debug_assert_eq!(w.len(), g.w_len(), "depthwise_fwd {g:?}: w");
    debug_assert_eq!(y.len(), g.y_len(), "depthwise_fwd {g:?}: y");
    debug_assert!(bias.is_none_or(|b| b.len() == g.c_out()), "depthwise_fwd {g:?}: bias");
    fwd::fwd(g, &plan(g), x, w, bias, y);
}

/// `dx[n, ih, iw, c] = sum dy[n, oh, ow, c·dm + m] · w[kh, kw, c, m]` over the
/// `(oh, ow, kh, kw, m)` with `oh·stride_h + kh - pad_top = ih` and
/// `ow·stride_w + kw - pad_left = iw`: the gradient of `L` w.r.t. `x` given
/// `dy = dL/dy`. `dx` is fully overwritten.
pub fn depthwise_bwd_input(g: &DepthwiseGeom, w: &[f32], dy: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(w.len(), g.w_len(), "depthwise_bwd_input {g:?}: w");
    debug_assert_eq!(dy.len(), g.y_len(), "depthwise_bwd_input {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "depthwise_bwd_input {g:?}: dx");
    bwd_input::gather(g, &plan(g), w, dy, dx);
}

/// `dw[kh, kw, c, m] = sum_{n, oh, ow} x[n, oh·stride_h + kh - pad_top,
/// ow·stride_w + kw - pad_left, c] · dy[n, oh, ow, c·dm + m]` and
/// `db[co] = sum_{n, oh, ow} dy[n, oh, ow, co]`: the gradients of `L` given
/// `dy = dL/dy`. `dw` and `db` (when given) are fully overwritten; `scratch`
/// holds at least `g.scratch_len()` elements.
pub fn depthwise_bwd_weight(
    g: &DepthwiseGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    debug_assert_eq!(x.len(), g.x_len(), "depthwise_bwd_weight {g:?}: x");
    debug_assert_eq!(dy.len(), g.y_len(), "depthwise_bwd_weight {g:?}: dy");
    debug_assert_eq!(dw.len(), g.w_len(), "depthwise_bwd_weight {g:?}: dw");
    debug_assert!(db.as_ref().is_none_or(|db| db.len() == g.c_out()), "depthwise_bwd_weight {g:?}: db");
    debug_assert!(scratch.len() >= g.scratch_len(), "depthwise_bwd_weight {g:?}: scratch");
    bwd_weight::grouped(g, &plan(g), x, dy, dw, db, scratch);
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
