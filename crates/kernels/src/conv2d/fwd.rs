//! Convolution forward: `y = conv2d(x, w) + b` as a cache-blocked GEMM of the
//! im2col matrix with `w` (formula and layouts in `geom::Conv2dGeom`; the
//! blocking and split are chosen in `mod.rs`).
//!
//! Each unit walks its rows `mc` at a time; for each k-block of `kc` patch
//! elements it builds that `mc × kc` slice of im2col in scratch and multiplies
//! it into its part of `y` (`gemm_kblock`), so the slice and the weights'
//! `kc`-row panel are reused from cache instead of the whole weight matrix
//! being streamed once per four rows.
//!
//! Fused inference keeps the weights packed as those panels (`pack_panels`,
//! `Weights::Panels`): the same products in the same order without the
//! per-call copy, which at batch 1 (a few dozen rows per call) is a copy of
//! the whole weight matrix for little arithmetic.
//!
//! Each `y` element is `sum_p cols(r, p)·w(p, co)` in `p = (kh, kw, ci)` order
//! from zero, then `+ b(co)`, padding taps contributing exact zeros: the
//! rounding sequence of one unblocked `gemm` over the whole im2col matrix, so
//! the result depends neither on the blocking nor on the threads.

use super::{im2col_range, FwdPlan, PaddedSlab, Split};
use crate::gemm::{gemm_kblock, gemm_kblock_packed, gemm_rows_with, packed_b_index, Epilogue, KBlock, RowLayout};
use crate::geom::Conv2dGeom;
use crate::par;
use crate::vecops::{copy, zero};

/// With a clamp in `ep` (fused inference's ReLU): the in-place path applies it
/// as the GEMM stores each output; the k-blocked paths apply it to each unit's
/// rows right after their last k-block, while they are still in cache. Either
/// way it is the same function of the same sum, so the bits do not depend on
/// the path.
pub(super) fn blocked(g: &Conv2dGeom, p: &FwdPlan, x: &[f32], w: &[f32], ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    blocked_with(g, p, x, Weights::Rows(w), ep, y, scratch);
}

/// `blocked` with the weights as given or as kept panels.
pub(super) fn blocked_with(g: &Conv2dGeom, p: &FwdPlan, x: &[f32], w: Weights<'_>, ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    let b = ep.bias;
    let n = g.c_out;
    let unit_len = p.unit_len();
    let scratch = &mut scratch[..p.units * unit_len];
    let pack_len = p.pack_len();
    match p.split {
        Split::Rows { group_rows } if p.in_place => {
            // Implicit im2col: the GEMM reads each output pixel's patch
            // straight from `x` (every tap inside it) or from a zero-padded
            // slab of it (`padded`) as `k_h` runs of `k_w·c_in` floats, one
            // input row apart, in the same `(kh, kw, ci)` order as an im2col
            // row (same bits, no copy).
            let Weights::Rows(w) = w else { unreachable!("kept panels only for geometries that do not read in place") };
            match p.padded {
                Some(slab) => par::for_each_chunk_pair_mut(y, group_rows * n, scratch, unit_len, p.parallel, |u, y_group, buf| {
                    padded(g, slab, x, w, ep, u * group_rows, y_group, &mut buf[..slab.len()]);
                }),
                None => {
                    let layout = RowLayout { segments: g.k_h, seg_len: g.k_w * g.c_in, seg_stride: g.w_in * g.c_in };
                    par::for_each_chunk_mut(y, group_rows * n, p.parallel, |u, y_group| {
                        gemm_rows_with(layout, x, PatchStarts::new(g, u * group_rows), n, w, ep, y_group);
                    });
                }
            }
        }
        Split::Rows { group_rows } => {
            par::for_each_chunk_pair_mut(y, group_rows * n, scratch, unit_len, p.parallel, |u, y_group, pack| {
                let cols = Cols { j0: 0, len: n, ldc: n };
                rows_times_w(g, p, x, w, b, u * group_rows, cols, y_group, pack);
                ep.clamp.apply_slice(y_group);
            });
        }
        Split::Cols { chunk_cols } => {
            let len = |u: usize| chunk_cols.min(n - u * chunk_cols);
            par::for_each_chunk_mut(scratch, unit_len, p.parallel, |u, s| {
                let (pack, part) = s.split_at_mut(pack_len);
                let cols = Cols { j0: u * chunk_cols, len: len(u), ldc: len(u) };
                rows_times_w(g, p, x, w, b, 0, cols, &mut part[..p.rows * cols.len], pack);
                ep.clamp.apply_slice(&mut part[..p.rows * cols.len]);
            });
            for (u, s) in scratch.chunks_exact(unit_len).enumerate() {
                let (j0, len) = (u * chunk_cols, len(u));
                for (y_row, part_row) in y.chunks_exact_mut(n).zip(s[pack_len..].chunks_exact(len)) {
                    y_row[j0..j0 + len].copy_from_slice(part_row);
                }
            }
        }
    }
}

/// Rows `row0 ..` of `y` (`y_rows.len() / c_out` output pixels) of a padded
/// geometry, read in place from zero-padded slabs of `x`: for each band of
/// up to `slab.band_rows` output rows of one image, the input rows its
/// patches cover are copied into `buf` with their padding written out as
/// zeros, and the in-place GEMM reads the band's patches there. Each output
/// is the same sum as im2col's, padding taps included (exact zeros times the
/// weights), so the bits do not depend on the path.
#[allow(clippy::too_many_arguments)]
fn padded(g: &Conv2dGeom, slab: PaddedSlab, x: &[f32], w: &[f32], ep: Epilogue<'_>, row0: usize, y_rows: &mut [f32], buf: &mut [f32]) {
    let n = g.c_out;
    let (end, image) = (row0 + y_rows.len() / n, g.h_out * g.w_out);
    let mut r = row0;
    while r < end {
        let (img, oh) = (r / image, (r % image) / g.w_out);
        let oh_end = (oh + slab.band_rows).min(g.h_out);
        let band_end = end.min(img * image + oh_end * g.w_out);
        // The band as an unpadded geometry of its own over the slab.
        let band = Conv2dGeom { n: 1, h_in: PaddedSlab::input_rows(g, oh_end - oh), w_in: slab.row_len / g.c_in, h_out: oh_end - oh, pad_top: 0, pad_left: 0, ..*g };
        fill_slab(g, &band, x, img, oh * g.stride_h, buf);
        let layout = RowLayout { segments: g.k_h, seg_len: g.k_w * g.c_in, seg_stride: slab.row_len };
        let y_band = &mut y_rows[(r - row0) * n..(band_end - row0) * n];
        gemm_rows_with(layout, buf, PatchStarts::new(&band, r - (img * image + oh * g.w_out)), n, w, ep, y_band);
        r = band_end;
    }
}

/// Fills `buf` with the `band.h_in` padded input rows of image `img` from
/// padded row `top` on (input row `top - pad_top`), each `band.w_in` pixels
/// wide from padded column 0 (input column `-pad_left`): `x`'s pixels where
/// they exist, zeros in the padding.
fn fill_slab(g: &Conv2dGeom, band: &Conv2dGeom, x: &[f32], img: usize, top: usize, buf: &mut [f32]) {
    let (c, row_len) = (g.c_in, band.w_in * g.c_in);
    // Padded columns [left, right) hold input columns [0, right - left).
    let left = g.pad_left.min(band.w_in);
    let right = (g.pad_left + g.w_in).min(band.w_in);
    for (i, dst) in buf[..band.h_in * row_len].chunks_exact_mut(row_len).enumerate() {
        match (top + i).checked_sub(g.pad_top).filter(|&ih| ih < g.h_in) {
            Some(ih) if right > left => {
                let src = &x[((img * g.h_in + ih) * g.w_in) * c..][..(right - left) * c];
                zero(&mut dst[..left * c]);
                copy(&mut dst[left * c..right * c], src);
                zero(&mut dst[right * c..]);
            }
            _ => zero(dst),
        }
    }
}

/// The weights as the forward GEMM reads them.
#[derive(Clone, Copy)]
pub(super) enum Weights<'w> {
    /// `[k_h, k_w, c_in, c_out]` as given: each k-block's column panels are
    /// packed into scratch on every call.
    Rows(&'w [f32]),
    /// Packed by `pack_panels`.
    Panels(&'w [f32]),
}

/// Packs `w` as `gemm_kblock_packed` reads each k-block of the forward: the
/// `kc × c_out` block of rows `p0 ..` at `p0·c_out`, laid out by
/// `packed_b_index`. The k-blocks depend on the geometry but not on the batch
/// (`fwd_plan`'s `kc`), and a column chunk (whole panels from a panel's
/// first column, `fwd_plan`) is a contiguous run of its k-block's panels.
pub(super) fn pack_panels(g: &Conv2dGeom, w: &[f32], packed: &mut [f32]) {
    let (n, patch, kc) = (g.c_out, g.patch_len(), super::fwd_plan(g).kc);
    let mut p0 = 0;
    while p0 < patch {
        let kcb = kc.min(patch - p0);
        let block = &mut packed[p0 * n..][..kcb * n];
        for (q, w_row) in w[p0 * n..][..kcb * n].chunks_exact(n).enumerate() {
            for (col, &v) in w_row.iter().enumerate() {
                block[packed_b_index(kcb, n, q, col)] = v;
            }
        }
        p0 += kcb;
    }
}

/// Columns `j0 .. j0 + len` of `y`, stored `ldc` apart per row.
#[derive(Clone, Copy)]
struct Cols {
    j0: usize,
    len: usize,
    ldc: usize,
}

/// `c` = columns `cols` of `y`'s rows `row0 ..` (`c.len() / cols.ldc` of
/// them), `mc` rows and `kc` patch elements at a time.
#[allow(clippy::too_many_arguments)]
fn rows_times_w(g: &Conv2dGeom, p: &FwdPlan, x: &[f32], w: Weights<'_>, b: Option<&[f32]>, row0: usize, cols: Cols, c: &mut [f32], pack: &mut [f32]) {
    let n = g.c_out;
    let bias = b.map(|b| &b[cols.j0..cols.j0 + cols.len]);
    for (block, c_block) in c.chunks_mut(p.mc * cols.ldc).enumerate() {
        let rows = c_block.len().div_ceil(cols.ldc);
        let r0 = row0 + block * p.mc;
        let mut p0 = 0;
        while p0 < p.patch {
            let kc = p.kc.min(p.patch - p0);
            let (a, panel) = pack.split_at_mut(p.mc * p.kc);
            let a = &mut a[..rows * kc];
            im2col_range(g, x, r0, p0, kc, a);
            let last = p0 + kc == p.patch;
            let k = KBlock { rows, kc, cols: cols.len, ldb: n, ldc: cols.ldc };
            let (first, bias) = (p0 == 0, if last { bias } else { None });
            match w {
                Weights::Rows(w) => gemm_kblock(k, a, &w[p0 * n + cols.j0..], c_block, first, bias, panel),
                Weights::Panels(u) => gemm_kblock_packed(k, a, &u[p0 * n + cols.j0 * kc..][..kc * cols.len], c_block, first, bias),
            }
            p0 += kc;
        }
    }
}

/// Offsets in `x` of the top-left tap of consecutive output pixels' patches,
/// from output pixel `row` on (pixels in `n, oh, ow` order, as the rows of y).
pub(super) struct PatchStarts<'g> {
    g: &'g Conv2dGeom,
    n: usize,
    oh: usize,
    ow: usize,
}

impl<'g> PatchStarts<'g> {
    pub(super) fn new(g: &'g Conv2dGeom, row: usize) -> Self {
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
