//! Convolution forward: `y = conv2d(x, w) + b` as GEMMs (formula and layouts in
//! `geom::Conv2dGeom`; the choice between these paths is made in `mod.rs`).
//!
//! Each `y` element is `sum_p cols(r, p)·w(p, co)` in `p = (kh, kw, ci)` order
//! from zero, then `+ b(co)` (the GEMM's contract), padding taps contributing
//! exact zeros: so the result does not depend on the blocking or the threads.

use super::{im2col, Plan};
use crate::gemm::{gemm, gemm_rows, RowLayout};
use crate::geom::{Conv2dGeom, GemmGeom};
use crate::par;

/// 1×1, stride 1, no padding: `y[rows, c_out] = x[rows, c_in] · w[c_in, c_out] + b`.
pub(super) fn pointwise(g: &Conv2dGeom, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32]) {
    let gg = GemmGeom { m: g.out_pixels(), k: g.c_in, n: g.c_out };
    gemm(&gg, x, w, b, y);
}

/// im2col + GEMM. Row groups of `y` run in parallel, each building its im2col
/// blocks in its own `block_rows × patch` slice of `scratch`.
pub(super) fn im2col_gemm(
    g: &Conv2dGeom,
    p: &Plan,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let (k, n) = (p.patch, g.c_out);
    let cols_len = p.block_rows * k;
    let scratch = &mut scratch[..p.groups * cols_len];
    par::for_each_chunk_pair_mut(y, p.group_rows * n, scratch, cols_len, p.parallel, |group, y_group, cols| {
        let row0 = group * p.group_rows;
        for (block, y_block) in y_group.chunks_mut(p.block_rows * n).enumerate() {
            let rows = y_block.len() / n;
            let cols = &mut cols[..rows * k];
            im2col(g, x, row0 + block * p.block_rows, cols);
            gemm(&GemmGeom { m: rows, k, n }, cols, w, b, y_block);
        }
    });
}

/// Implicit im2col for convolutions whose every tap falls inside the input
/// (no padding): the GEMM reads each output pixel's patch straight from `x`
/// as `k_h` runs of `k_w·c_in` floats, one input row apart, so no im2col
/// matrix is written or read back. The patch elements come in the same
/// `(kh, kw, ci)` order as an im2col row, so the result is bit-identical to
/// `im2col_gemm`'s. Row groups of `y` run in parallel; no scratch.
pub(super) fn implicit_gemm(g: &Conv2dGeom, p: &Plan, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32]) {
    let n = g.c_out;
    let layout = RowLayout { segments: g.k_h, seg_len: g.k_w * g.c_in, seg_stride: g.w_in * g.c_in };
    par::for_each_chunk_mut(y, p.group_rows * n, p.parallel, |group, y_group| {
        gemm_rows(layout, x, PatchStarts::new(g, group * p.group_rows), n, w, b, y_group);
    });
}

/// Offsets in `x` of the top-left tap of consecutive output pixels' patches,
/// from output pixel `row` on (pixels in `n, oh, ow` order, as the rows of y).
struct PatchStarts<'g> {
    g: &'g Conv2dGeom,
    n: usize,
    oh: usize,
    ow: usize,
}

impl<'g> PatchStarts<'g> {
    fn new(g: &'g Conv2dGeom, row: usize) -> Self {
        PatchStarts { g, n: row / (g.h_out * g.w_out), oh: (row / g.w_out) % g.h_out, ow: row % g.w_out }
    }
}

impl Iterator for PatchStarts<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        let g = self.g;
        let start = ((self.n * g.h_in + self.oh * g.stride_h) * g.w_in + self.ow * g.stride_w) * g.c_in;
        self.ow += 1;
        if self.ow == g.w_out {
            self.ow = 0;
            self.oh += 1;
            if self.oh == g.h_out {
                self.oh = 0;
                self.n += 1;
            }
        }
        Some(start)
    }
}
