//! Depthwise input gradient by direct gather: each `dx` pixel sums, over the
//! taps `(kh, kw)` that reach it from an output pixel `(oh, ow)` (in
//! increasing `kh`, then `kw`), `dy[oh, ow, c·dm + m] · w[kh, kw, c, m]`
//! (over `m` within each tap). No scatter, so chunks of whole input rows run
//! in parallel and every element is written once.

use super::dots::{channel_dots, reduce_dots, Grid};
use super::Plan;
use crate::geom::DepthwiseGeom;
use crate::par;
use crate::taps::Taps;

pub(super) fn gather(g: &DepthwiseGeom, p: &Plan, w: &[f32], dy: &[f32], dx: &mut [f32]) {
    let (c_in, c_out, dm) = (g.c_in, g.c_out(), g.depth_multiplier);
    let row_len = g.w_in * c_in;
    par::for_each_chunk_mut(dx, p.dx_rows * row_len, p.parallel, |chunk, dx_rows| {
        for (r, dx_row) in dx_rows.chunks_exact_mut(row_len).enumerate() {
            let image_row = chunk * p.dx_rows + r;
            let (n, ih) = (image_row / g.h_in, image_row % g.h_in);
            let rows = Taps::reaching(ih + g.pad_top, g.k_h, g.stride_h, g.h_out);
            for (iw, dx_px) in dx_row.chunks_exact_mut(c_in).enumerate() {
                let cols = Taps::reaching(iw + g.pad_left, g.k_w, g.stride_w, g.w_out);
                // Tap t = (th, tw): kh = first_k + th·stride_h reads output row
                // first_o - th; likewise along the width.
                let dy_first = ((n * g.h_out + rows.first_o) * g.w_out + cols.first_o) * c_out;
                let w_first = (rows.first_k * g.k_w + cols.first_k) * c_out;
                let pairs = Grid {
                    rows: rows.count,
                    cols: cols.count,
                    start: (dy_first as isize, w_first as isize),
                    row_step: (-((g.w_out * c_out) as isize), (g.stride_h * g.k_w * c_out) as isize),
                    col_step: (-(c_out as isize), (g.stride_w * c_out) as isize),
                };
                if dm == 1 {
                    channel_dots::<false>(pairs, dy, w, dx_px);
                } else {
                    reduce_dots(pairs, dm, dy, w, dx_px);
                }
            }
        }
    });
}
