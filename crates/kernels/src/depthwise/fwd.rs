//! Depthwise forward: each output pixel's channels sum the window's taps that
//! fall inside the input, in `(kh, kw)` order from zero, then add the bias.
//! Chunks of whole output rows run in parallel.

use super::dots::{channel_dots, expand_dots, Grid};
use super::Plan;
use crate::geom::DepthwiseGeom;
use crate::taps;
use crate::{par, vecops};

pub(super) fn fwd(g: &DepthwiseGeom, p: &Plan, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (c_in, c_out, dm) = (g.c_in, g.c_out(), g.depth_multiplier);
    let row_len = g.w_out * c_out;
    par::for_each_chunk_mut(y, p.fwd_rows * row_len, p.parallel, |chunk, y_rows| {
        for (r, y_row) in y_rows.chunks_exact_mut(row_len).enumerate() {
            let row = chunk * p.fwd_rows + r;
            let (n, oh) = (row / g.h_out, row % g.h_out);
            let (ih0, khs) = taps::inside(oh, g.stride_h, g.pad_top, g.k_h, g.h_in);
            let x_row0 = (n * g.h_in) as isize + ih0;
            for (ow, y_px) in y_row.chunks_exact_mut(c_out).enumerate() {
                let (iw0, kws) = taps::inside(ow, g.stride_w, g.pad_left, g.k_w, g.w_in);
                // Tap (kh, kw) reads x pixel (x_row0 + kh, iw0 + kw) and weight tap kh·k_w + kw.
                let x_first = ((x_row0 + khs.start as isize) * g.w_in as isize + iw0 + kws.start as isize) * c_in as isize;
                let w_first = ((khs.start * g.k_w + kws.start) * c_out) as isize;
                let pairs = Grid {
                    rows: khs.len(),
                    cols: kws.len(),
                    start: (x_first, w_first),
                    row_step: ((g.w_in * c_in) as isize, (g.k_w * c_out) as isize),
                    col_step: (c_in as isize, c_out as isize),
                };
                if dm == 1 {
                    channel_dots::<false>(pairs, x, w, y_px);
                } else {
                    expand_dots::<false>(pairs, dm, x, w, y_px);
                }
                if let Some(b) = bias {
                    vecops::add_assign(y_px, b);
                }
            }
        }
    });
}
