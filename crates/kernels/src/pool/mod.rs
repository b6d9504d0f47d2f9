//! 2-D pooling over NHWC tensors (MaxPool2D, AveragePool2D,
//! GlobalAveragePooling2D), forward and backward, with TensorFlow/Keras
//! padding semantics by default, PyTorch's as options (output size from
//! `geom::window_axis`).
//!
//! Layouts (densely packed, see `Pool2dGeom`):
//! - `x`, `dx`: `[n, h_in, w_in, c]`, element `(i, h, w, ch)` at `((i·h_in + h)·w_in + w)·c + ch`
//! - `y`, `dy`, `argmax`: `[n, h_out, w_out, c]`
//!
//! Windows are clipped to the input: padded cells never take part in a max
//! (it pads with -inf) or a sum; an average divides by the number of input
//! cells in the window, like TensorFlow, or with `count_include_pad` by the
//! number of window cells inside the padded input, like PyTorch. PyTorch's
//! `ceil_mode` only changes the output size (`geom::window_axis`). Each window is
//! scanned in row-major order `(h, w)`, which fixes both the summation order and
//! which of several equal maxima wins (the first).
//!
//! Forward passes split the output into chunks of whole output rows; backward
//! passes scatter into `dx` one image at a time, in output order. Chunk sizes
//! come from the geometry alone, so results are bit-identical for any thread
//! count.

mod avg;
mod max;

pub use avg::{avgpool2d_bwd, avgpool2d_fwd, global_avgpool2d_bwd, global_avgpool2d_fwd};
pub use max::{maxpool2d_bwd, maxpool2d_bwd_from_input, maxpool2d_fwd};

use crate::geom::Pool2dGeom;

/// Target number of input reads per parallel chunk.
const CHUNK_TARGET_READS: usize = 1 << 15;

/// Below this many input reads a pass runs serially (a fork-join would cost
/// more than it saves).
const PARALLEL_MIN_READS: usize = 1 << 16;

/// Input reads of one output row (`w_out · c` outputs of `k_h · k_w` cells).
fn reads_per_out_row(g: &Pool2dGeom) -> usize {
    (g.w_out * g.c * g.k_h * g.k_w).max(1)
}

/// Output rows (of `w_out · c` elements, counted over `n · h_out`) per forward chunk.
fn out_rows_per_chunk(g: &Pool2dGeom) -> usize {
    (CHUNK_TARGET_READS / reads_per_out_row(g)).max(1)
}

/// Whole images per backward chunk (a backward pass scatters into `dx`, and
/// windows of neighbouring output rows overlap, so chunks are whole images).
fn images_per_chunk(g: &Pool2dGeom) -> usize {
    (CHUNK_TARGET_READS / (reads_per_out_row(g) * g.h_out + g.x_plane())).max(1)
}

fn parallel(g: &Pool2dGeom) -> bool {
    g.n * g.h_out * reads_per_out_row(g) >= PARALLEL_MIN_READS
}

/// The part of one window that lies inside the input: rows `h0..h1`,
/// columns `w0..w1`; and the divisor of an average over it.
#[derive(Clone, Copy)]
struct Window {
    h0: usize,
    h1: usize,
    w0: usize,
    w1: usize,
    divisor: usize,
}

impl Window {
    #[inline]
    fn of(g: &Pool2dGeom, oh: usize, ow: usize) -> Self {
        // Explicit pads are smaller than the window (checked by the geometry)
        // and every window starts inside the input or its leading padding
        // (`geom::window_axis`), so windows are never empty.
        let (h0, rows) = crate::taps::inside(oh, g.stride_h, g.pad_top, g.k_h, g.h_in);
        let (w0, cols) = crate::taps::inside(ow, g.stride_w, g.pad_left, g.k_w, g.w_in);
        debug_assert!(!rows.is_empty() && !cols.is_empty(), "{g:?}: window ({oh}, {ow}) is empty");
        let divisor = if g.options.count_include_pad {
            // Window cells inside the padded input, which ends `pad_bottom`
            // (`pad_right`) cells after the input: in ceil mode the last
            // window may reach past it. Windows start at or after its start.
            let span = |start: isize, k: usize, end: usize| ((start + k as isize).min(end as isize) - start) as usize;
            span(h0, g.k_h, g.h_in + g.pad_bottom) * span(w0, g.k_w, g.w_in + g.pad_right)
        } else {
            rows.len() * cols.len()
        };
        let (h0, w0) = (h0 + rows.start as isize, w0 + cols.start as isize);
        Self {
            h0: h0 as usize,
            h1: h0 as usize + rows.len(),
            w0: w0 as usize,
            w1: w0 as usize + cols.len(),
            divisor,
        }
    }

    /// Offsets (within one image, in elements) of the window's cells'
    /// channel vectors, in scan order.
    #[inline]
    fn cells(self, g: &Pool2dGeom) -> impl Iterator<Item = usize> {
        let (w_in, c) = (g.w_in, g.c);
        (self.h0..self.h1).flat_map(move |h| (self.w0..self.w1).map(move |w| (h * w_in + w) * c))
    }
}

/// Runs `f(image, oh, y_row)` for every output row of `y` (`[n·h_out]` rows of
/// `w_out·c`), in parallel chunks of whole rows.
fn for_each_out_row(g: &Pool2dGeom, y: &mut [f32], f: impl Fn(usize, usize, &mut [f32]) + Sync + Send) {
    let row_len = g.w_out * g.c;
    let rows = out_rows_per_chunk(g);
    crate::par::for_each_chunk_mut(y, rows * row_len, parallel(g), |chunk, y_rows| {
        for (r, y_row) in y_rows.chunks_mut(row_len).enumerate() {
            let row = chunk * rows + r;
            f(row / g.h_out, row % g.h_out, y_row);
        }
    });
}

/// Like `for_each_out_row`, with a second output of the same layout as `y`
/// (max pooling's argmax indices) split into the same rows.
fn for_each_out_row_pair<B: Send>(
    g: &Pool2dGeom,
    y: &mut [f32],
    b: &mut [B],
    f: impl Fn(usize, usize, &mut [f32], &mut [B]) + Sync + Send,
) {
    let row_len = g.w_out * g.c;
    let rows = out_rows_per_chunk(g);
    let chunk_len = rows * row_len;
    crate::par::for_each_chunk_pair_mut(y, chunk_len, b, chunk_len, parallel(g), |chunk, y_rows, b_rows| {
        for (r, (y_row, b_row)) in y_rows.chunks_mut(row_len).zip(b_rows.chunks_mut(row_len)).enumerate() {
            let row = chunk * rows + r;
            f(row / g.h_out, row % g.h_out, y_row, b_row);
        }
    });
}

/// Runs `f(image, dx_image)` for every image of `dx` after zeroing it, in
/// parallel chunks of whole images.
fn for_each_dx_image(g: &Pool2dGeom, dx: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let plane = g.x_plane();
    let images = images_per_chunk(g);
    crate::par::for_each_chunk_mut(dx, images * plane, parallel(g), |chunk, dx_images| {
        for (i, dx_img) in dx_images.chunks_mut(plane).enumerate() {
            dx_img.fill(0.0);
            f(chunk * images + i, dx_img);
        }
    });
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
