//! 2-D convolution, NHWC f32, weights `[k_h, k_w, c_in, c_out]` (see
//! `geom::Conv2dGeom` for the formula and every slice's layout).
//!
//! This file is the public API and the one place that chooses how each pass
//! runs, from the geometry alone (`plan`):
//! - forward: a 1×1, stride-1, unpadded convolution is a GEMM on `x` as it
//!   stands (`pointwise`); anything else is im2col + GEMM, in row blocks so the
//!   scratch stays bounded (`fwd.rs`);
//! - input gradient: a direct gather over each input pixel's contributing
//!   taps, so no col2im scatter, no atomics and no wasted work on the holes of
//!   strided kernels (`bwd_input.rs`);
//! - weight and bias gradients: `colsᵀ · dY` over fixed row groups into
//!   partials, combined in group order (`bwd_weight.rs`).
//!
//! Every split (block rows, group count, chunk rows) comes from the geometry,
//! never from the thread count, and every output element is summed in an
//! order fixed by the geometry, so results are bit-identical with any number
//! of threads. Callers pass a scratch slice of `g.im2col_scratch_len()`
//! elements, enough for all three passes; nothing allocates.

mod bwd_input;
mod bwd_weight;
mod fwd;

use crate::geom::Conv2dGeom;
use crate::vecops::{copy, zero};

/// Elements of im2col matrix per row block (64 KiB): the unit of work that is
/// built and then multiplied while it is still in cache.
const COLS_BLOCK_FLOATS: usize = 1 << 14;

/// Upper bound on row groups (the units that run in parallel and own a slice of
/// scratch): bounds the scratch while leaving work for up to this many threads.
const MAX_GROUPS: usize = 16;

/// Multiply-adds below which a further split into groups is not worth it.
const GROUP_MIN_MACS: f64 = (1 << 16) as f64;

/// Multiply-adds below which a pass runs serially (a fork-join costs more).
const PARALLEL_MIN_MACS: f64 = 1.0e5;

/// Target multiply-adds per input-gradient chunk.
const DX_CHUNK_MACS: f64 = (1 << 16) as f64;

/// How the forward and weight-gradient passes turn the convolution into GEMMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algo {
    /// 1×1 kernel, stride 1, no padding: `x` already is the im2col matrix.
    Pointwise,
    /// im2col into scratch, one row block at a time, then GEMM.
    Im2col,
    /// No padding: the forward GEMM reads each patch from `x` in place
    /// (implicit im2col); the weight gradient works as for `Im2col`.
    Implicit,
}

/// The split of one call's work, derived from the geometry alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub algo: Algo,
    /// Output pixels over the batch: rows of the im2col GEMM.
    pub rows: usize,
    /// Length of an im2col row, `k_h·k_w·c_in`.
    pub patch: usize,
    /// Rows per im2col block (a multiple of 4 unless it is all rows).
    pub block_rows: usize,
    /// Rows per group (a whole number of blocks); the last group may be shorter.
    pub group_rows: usize,
    /// Number of groups, `ceil(rows / group_rows)`, at most `MAX_GROUPS`.
    pub groups: usize,
    /// Whether the groups (and dx chunks) may run on the pool.
    pub parallel: bool,
    /// Input image rows (`n·h_in` of them) per input-gradient chunk.
    pub dx_chunk_rows: usize,
}

pub(crate) fn plan(g: &Conv2dGeom) -> Plan {
    let unpadded = g.pad_top == 0
        && g.pad_left == 0
        && (g.h_out - 1) * g.stride_h + g.k_h <= g.h_in
        && (g.w_out - 1) * g.stride_w + g.k_w <= g.w_in;
    let pointwise = unpadded && g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1;
    let algo = if pointwise {
        Algo::Pointwise
    } else if unpadded {
        Algo::Implicit
    } else {
        Algo::Im2col
    };
    let rows = g.out_pixels();
    let patch = g.patch_len();
    let block_rows = (COLS_BLOCK_FLOATS / patch).max(1).next_multiple_of(4).min(rows);
    let blocks = rows.div_ceil(block_rows);
    let macs = g.macs();
    let wanted = ((macs / GROUP_MIN_MACS) as usize).clamp(1, MAX_GROUPS).min(blocks);
    let group_rows = blocks.div_ceil(wanted) * block_rows;
    let groups = rows.div_ceil(group_rows);
    // Input gradient: about k_h/stride_h · k_w/stride_w taps reach each input pixel.
    let taps = g.k_h.div_ceil(g.stride_h) * g.k_w.div_ceil(g.stride_w);
    let row_macs = (g.w_in * g.c_in * g.c_out * taps) as f64;
    let dx_chunk_rows = ((DX_CHUNK_MACS / row_macs) as usize).max(1);
    Plan { algo, rows, patch, block_rows, group_rows, groups, parallel: macs >= PARALLEL_MIN_MACS, dx_chunk_rows }
}

impl Plan {
    /// im2col elements per group (0 when `x` is used as it stands). The
    /// implicit forward needs none, but the weight gradient still builds
    /// im2col blocks for it.
    fn cols_len(&self) -> usize {
        match self.algo {
            Algo::Pointwise => 0,
            Algo::Im2col | Algo::Implicit => self.block_rows * self.patch,
        }
    }
}

impl Conv2dGeom {
    /// Scratch elements that `conv2d_fwd`, `conv2d_bwd_input` and
    /// `conv2d_bwd_weight` need (one buffer serves all three). Bounded by the
    /// blocking: at most `MAX_GROUPS` blocks of ~64 KiB of im2col plus as many
    /// weight-gradient partials, never the whole im2col matrix.
    pub fn im2col_scratch_len(&self) -> usize {
        let p = plan(self);
        let fwd = p.groups * p.cols_len();
        let bwd_weight = p.groups * bwd_weight::group_scratch_len(self, &p);
        let bwd_input = self.w_len();
        fwd.max(bwd_weight).max(bwd_input)
    }
}

/// `y = conv2d(x, w) + b` (`b` optional); see `Conv2dGeom` for the formula and
/// layouts. `y` is fully overwritten; `scratch` holds at least
/// `g.im2col_scratch_len()` elements.
pub fn conv2d_fwd(g: &Conv2dGeom, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32], scratch: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "conv2d_fwd {g:?}: x");
    debug_assert_eq!(w.len(), g.w_len(), "conv2d_fwd {g:?}: w");
    debug_assert_eq!(y.len(), g.y_len(), "conv2d_fwd {g:?}: y");
    debug_assert!(b.is_none_or(|b| b.len() == g.c_out), "conv2d_fwd {g:?}: b");
    debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_fwd {g:?}: scratch");
    let p = plan(g);
    match p.algo {
        Algo::Pointwise => fwd::pointwise(g, x, w, b, y),
        Algo::Im2col => fwd::im2col_gemm(g, &p, x, w, b, y, scratch),
        Algo::Implicit => fwd::implicit_gemm(g, &p, x, w, b, y),
    }
}

/// `dx[n, ih, iw, ci] = sum dy[n, oh, ow, co] · w[kh, kw, ci, co]` over the
/// `(oh, ow, kh, kw)` with `oh·stride_h + kh - pad_top = ih` and
/// `ow·stride_w + kw - pad_left = iw`: the gradient of `L` w.r.t. `x` given
/// `dy = dL/dy` (layouts as `x` and `y`). `dx` is fully overwritten; `scratch`
/// holds at least `g.im2col_scratch_len()` elements.
pub fn conv2d_bwd_input(g: &Conv2dGeom, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    debug_assert_eq!(w.len(), g.w_len(), "conv2d_bwd_input {g:?}: w");
    debug_assert_eq!(dy.len(), g.y_len(), "conv2d_bwd_input {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "conv2d_bwd_input {g:?}: dx");
    debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_bwd_input {g:?}: scratch");
    bwd_input::direct(g, &plan(g), w, dy, dx, scratch);
}

/// `dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh·stride_h + kh - pad_top,
/// ow·stride_w + kw - pad_left, ci] · dy[n, oh, ow, co]` (i.e. `colsᵀ · dY`) and
/// `db[co] = sum_{n, oh, ow} dy[n, oh, ow, co]`: the gradients of `L` given
/// `dy = dL/dy`. `dw` (`[k_h, k_w, c_in, c_out]`) and `db` (`[c_out]`, when
/// given) are fully overwritten; `scratch` holds at least
/// `g.im2col_scratch_len()` elements.
pub fn conv2d_bwd_weight(
    g: &Conv2dGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    debug_assert_eq!(x.len(), g.x_len(), "conv2d_bwd_weight {g:?}: x");
    debug_assert_eq!(dy.len(), g.y_len(), "conv2d_bwd_weight {g:?}: dy");
    debug_assert_eq!(dw.len(), g.w_len(), "conv2d_bwd_weight {g:?}: dw");
    debug_assert!(db.as_ref().is_none_or(|db| db.len() == g.c_out), "conv2d_bwd_weight {g:?}: db");
    debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_bwd_weight {g:?}: scratch");
    bwd_weight::grouped(g, &plan(g), x, dy, dw, db, scratch);
}

/// Writes the im2col rows for output pixels `row0 ..` into `cols` (as many
/// rows as `cols` holds, each `k_h·k_w·c_in` long, ordered `[kh, kw, ci]` like
/// the weights); padding taps become zeros.
pub(crate) fn im2col(g: &Conv2dGeom, x: &[f32], row0: usize, cols: &mut [f32]) {
    let c = g.c_in;
    let kw_len = g.k_w * c;
    let mut ow = row0 % g.w_out;
    let mut oh = (row0 / g.w_out) % g.h_out;
    let mut n = row0 / (g.w_out * g.h_out);
    for row in cols.chunks_exact_mut(g.patch_len()) {
        let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
        // Taps kw_lo..kw_hi fall inside the image: one contiguous run of x.
        let (iw0, kws) = crate::taps::inside(ow, g.stride_w, g.pad_left, g.k_w, g.w_in);
        let (kw_lo, kw_hi) = (kws.start, kws.end);
        for (kh, dst) in row.chunks_exact_mut(kw_len).enumerate() {
            let ih = ih0 + kh as isize;
            if ih < 0 || ih >= g.h_in as isize {
                zero(dst);
                continue;
            }
            zero(&mut dst[..kw_lo * c]);
            if kw_hi > kw_lo {
                let src = ((n * g.h_in + ih as usize) * g.w_in + (iw0 + kw_lo as isize) as usize) * c;
                copy(&mut dst[kw_lo * c..kw_hi * c], &x[src..src + (kw_hi - kw_lo) * c]);
            }
            zero(&mut dst[kw_hi * c..]);
        }
        ow += 1;
        if ow == g.w_out {
            ow = 0;
            oh += 1;
            if oh == g.h_out {
                oh = 0;
                n += 1;
            }
        }
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
