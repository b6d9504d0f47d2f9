//! Zero padding (Keras `ZeroPadding2D`) of NHWC tensors and its gradient, a
//! crop (see `geom::Pad2dGeom` for the layouts). Pure copies and zero fills,
//! exact; chunks of whole rows run in parallel, each element written once.

use crate::geom::Pad2dGeom;
use crate::{par, vecops};

/// Target elements per parallel chunk.
const CHUNK: usize = 1 << 14;
/// Below this many output elements a pass runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// Rows of `row_len` elements per chunk.
fn rows_per_chunk(row_len: usize) -> usize {
    (CHUNK / row_len).max(1)
}

/// `y` = `x` surrounded by `top`, `bottom`, `left`, `right` zero rows and
/// columns. `x`: `[n, h_in, w_in, c]`; `y`: `[n, h_out, w_out, c]`, fully overwritten.
pub fn pad2d_fwd(g: &Pad2dGeom, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "pad2d_fwd {g:?}: x");
    debug_assert_eq!(y.len(), g.y_len(), "pad2d_fwd {g:?}: y");
    let c = g.c;
    let (in_row, out_row) = (g.w_in * c, g.w_out * c);
    let rows = rows_per_chunk(out_row);
    par::for_each_chunk_mut(y, rows * out_row, y.len() >= PARALLEL_MIN, |chunk, y_rows| {
        for (r, y_row) in y_rows.chunks_exact_mut(out_row).enumerate() {
            let row = chunk * rows + r;
            let (n, oh) = (row / g.h_out, row % g.h_out);
            if oh < g.top || oh >= g.top + g.h_in {
                vecops::zero(y_row);
                continue;
            }
            let src = (n * g.h_in + oh - g.top) * in_row;
            let (before, rest) = y_row.split_at_mut(g.left * c);
            let (inside, after) = rest.split_at_mut(in_row);
            vecops::zero(before);
            vecops::copy(inside, &x[src..src + in_row]);
            vecops::zero(after);
        }
    });
}

/// Gradient of `pad2d_fwd`: `dx` is `dy` with the padding cropped away.
/// `dy`: `[n, h_out, w_out, c]`; `dx`: `[n, h_in, w_in, c]`, fully overwritten.
pub fn pad2d_bwd(g: &Pad2dGeom, dy: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.y_len(), "pad2d_bwd {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "pad2d_bwd {g:?}: dx");
    let c = g.c;
    let (in_row, out_row) = (g.w_in * c, g.w_out * c);
    let rows = rows_per_chunk(in_row);
    par::for_each_chunk_mut(dx, rows * in_row, dx.len() >= PARALLEL_MIN, |chunk, dx_rows| {
        for (r, dx_row) in dx_rows.chunks_exact_mut(in_row).enumerate() {
            let row = chunk * rows + r;
            let (n, ih) = (row / g.h_in, row % g.h_in);
            let src = (n * g.h_out + g.top + ih) * out_row + g.left * c;
            vecops::copy(dx_row, &dy[src..src + in_row]);
        }
    });
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
