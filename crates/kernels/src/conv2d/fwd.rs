//! Convolution forward: `y = conv2d(x, w) + b` as GEMMs (formula and layouts in
//! `geom::Conv2dGeom`; the choice between these paths is made in `mod.rs`).
//!
//! Each `y` element is `sum_p cols(r, p)·w(p, co)` in `p = (kh, kw, ci)` order
//! from zero, then `+ b(co)` (the GEMM's contract), padding taps contributing
//! exact zeros: so the result does not depend on the blocking or the threads.

use super::{for_each_group_pair, im2col, Plan};
use crate::gemm::gemm;
use crate::geom::{Conv2dGeom, GemmGeom};

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
    for_each_group_pair(y, p.group_rows * n, scratch, cols_len, p.groups, p.parallel, |group, y_group, cols| {
        let row0 = group * p.group_rows;
        for (block, y_block) in y_group.chunks_mut(p.block_rows * n).enumerate() {
            let rows = y_block.len() / n;
            let cols = &mut cols[..rows * k];
            im2col(g, x, row0 + block * p.block_rows, cols);
            gemm(&GemmGeom { m: rows, k, n }, cols, w, b, y_block);
        }
    });
}
