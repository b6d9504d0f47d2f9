//! Zero padding of NHWC planes (Keras' ZeroPadding2D, ONNX `Pad` with
//! constant 0): rows of zeros above and below, columns left and right. The
//! backward crops. Each output row is written independently, in fixed chunks.

use crate::error::KernelError;
use crate::par;

/// Output rows per parallel chunk are chosen so a chunk holds about this many elements.
const CHUNK: usize = 1 << 14;
const PARALLEL_MIN: usize = 1 << 15;

/// `x: [n, h_in, w_in, c]` padded by `top`, `bottom`, `left`, `right` to
/// `y: [n, h_out, w_out, c]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad2dGeom {
    pub n: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c: usize,
    pub top: usize,
    pub left: usize,
    pub h_out: usize,
    pub w_out: usize,
}

impl Pad2dGeom {
    /// `input = [n, h_in, w_in, c]` (all >= 1), `pads = [top, bottom, left, right]`.
    pub fn new(input: [usize; 4], pads: [usize; 4]) -> Result<Self, KernelError> {
        let [n, h_in, w_in, c] = input;
        if input.contains(&0) {
            return Err(KernelError::geometry(format!("pad2d: input [n, h, w, c] must be >= 1 everywhere, got {input:?}")));
        }
        let [top, bottom, left, right] = pads;
        let h_out = h_in.checked_add(top).and_then(|v| v.checked_add(bottom));
        let w_out = w_in.checked_add(left).and_then(|v| v.checked_add(right));
        let len = h_out.zip(w_out).and_then(|(h, w)| n.checked_mul(h)?.checked_mul(w)?.checked_mul(c)).filter(|&l| l <= isize::MAX as usize / 4);
        match (h_out, w_out, len) {
            (Some(h_out), Some(w_out), Some(_)) => Ok(Self { n, h_in, w_in, c, top, left, h_out, w_out }),
            _ => Err(KernelError::geometry(format!("pad2d: padding {pads:?} of input {input:?} overflows"))),
        }
    }
    pub fn x_len(&self) -> usize {
        self.n * self.h_in * self.w_in * self.c
    }
    pub fn y_len(&self) -> usize {
        self.n * self.h_out * self.w_out * self.c
    }
}

/// Rows (of `w_out · c` elements) per chunk.
fn rows_per_chunk(g: &Pad2dGeom) -> usize {
    (CHUNK / (g.w_out * g.c).max(1)).max(1)
}

/// `y` = `x` with zeros around each plane; `y` is fully overwritten.
pub fn pad2d_fwd(g: &Pad2dGeom, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "pad2d_fwd {g:?}: x");
    debug_assert_eq!(y.len(), g.y_len(), "pad2d_fwd {g:?}: y");
    let (row, in_row) = (g.w_out * g.c, g.w_in * g.c);
    let rows = rows_per_chunk(g);
    par::for_each_chunk_mut(y, rows * row, y.len() >= PARALLEL_MIN, |i, out| {
        for (r, dst) in out.chunks_exact_mut(row).enumerate() {
            let global = i * rows + r; // n · h_out + oh
            let (b, oh) = (global / g.h_out, global % g.h_out);
            match oh.checked_sub(g.top).filter(|&ih| ih < g.h_in) {
                Some(ih) => {
                    let src = &x[(b * g.h_in + ih) * in_row..][..in_row];
                    let left = g.left * g.c;
                    dst[..left].fill(0.0);
                    dst[left..left + in_row].copy_from_slice(src);
                    dst[left + in_row..].fill(0.0);
                }
                None => dst.fill(0.0),
            }
        }
    });
}

/// The backward: `dx` = the interior of `dy` (overwritten).
pub fn pad2d_bwd(g: &Pad2dGeom, dy: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.y_len(), "pad2d_bwd {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "pad2d_bwd {g:?}: dx");
    let (row, in_row) = (g.w_out * g.c, g.w_in * g.c);
    let rows = (CHUNK / in_row.max(1)).max(1);
    par::for_each_chunk_mut(dx, rows * in_row, dx.len() >= PARALLEL_MIN, |i, out| {
        for (r, dst) in out.chunks_exact_mut(in_row).enumerate() {
            let global = i * rows + r; // n · h_in + ih
            let (b, ih) = (global / g.h_in, global % g.h_in);
            dst.copy_from_slice(&dy[(b * g.h_out + ih + g.top) * row + g.left * g.c..][..in_row]);
        }
    });
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
