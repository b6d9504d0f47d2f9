//! Keras `Multiply` of two NHWC tensors, forward and backward: of one shape
//! (element-wise), or a per-image channel scale `s` (`[n, 1, 1, c]`)
//! broadcast over the other's pixels: the squeeze-and-excitation gate of
//! MobileNetV3 and EfficientNet (ONNX `Mul`, PyTorch `x * s`).
//!
//! - `multiply_fwd` / `multiply_bwd`: `y = a ⊙ b`; each input's gradient is
//!   `dy ⊙ (the other input)`.
//! - `scale_fwd`: `y[i, p, :] = x[i, p, :] ⊙ s[i, :]` over images of `pixels`
//!   pixels of `c` channels; the gradient of `x` is `scale_fwd` of `dy`.
//! - `scale_bwd_scale`: `ds[i, :] = Σ_p dy[i, p, :] ⊙ x[i, p, :]`, summed in
//!   pixel order from zero within each image.
//!
//! Work is cut by elements (whole pixels) or by image, never by thread, so
//! results do not depend on the thread count.

use crate::{par, vecops};

/// Elements per parallel chunk (whole pixels for the broadcast ops).
const CHUNK: usize = 1 << 14;
/// Below this many elements a pass runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// `y = a ⊙ b`, element-wise (all three of one length; `y` fully overwritten).
pub fn multiply_fwd(a: &[f32], b: &[f32], y: &mut [f32]) {
    debug_assert!(a.len() == y.len() && b.len() == y.len(), "multiply_fwd: lengths {} {} {}", a.len(), b.len(), y.len());
    par::for_each_chunk_mut(y, CHUNK, y.len() >= PARALLEL_MIN, |i, y_chunk| {
        let r = i * CHUNK..i * CHUNK + y_chunk.len();
        vecops::mul_into(y_chunk, &a[r.clone()], &b[r]);
    });
}

/// The gradient of one input of `multiply_fwd`: `dx = dy ⊙ other`.
pub fn multiply_bwd(dy: &[f32], other: &[f32], dx: &mut [f32]) {
    multiply_fwd(dy, other, dx);
}

/// `y[i, p, :] = x[i, p, :] ⊙ s[i, :]` for `x` and `y` of `images × pixels ×
/// c` and `s` of `images × c` (`y` fully overwritten).
pub fn scale_fwd(pixels: usize, c: usize, x: &[f32], s: &[f32], y: &mut [f32]) {
    debug_assert!(pixels > 0 && c > 0 && x.len() == y.len() && y.len() % (pixels * c) == 0, "scale_fwd: [{pixels}, {c}] with {} values", y.len());
    debug_assert_eq!(s.len(), y.len() / pixels, "scale_fwd: s");
    let chunk_pixels = (CHUNK / c).max(1);
    par::for_each_chunk_mut(y, chunk_pixels * c, y.len() >= PARALLEL_MIN, |chunk, y_chunk| {
        for (k, y_px) in y_chunk.chunks_exact_mut(c).enumerate() {
            let p = chunk * chunk_pixels + k;
            let image = p / pixels;
            vecops::mul_into(y_px, &x[p * c..(p + 1) * c], &s[image * c..(image + 1) * c]);
        }
    });
}

/// The gradient of `scale_fwd`'s scale: `ds[i, :] = Σ_p dy[i, p, :] ⊙ x[i, p, :]`
/// in pixel order (`ds` fully overwritten).
pub fn scale_bwd_scale(pixels: usize, c: usize, dy: &[f32], x: &[f32], ds: &mut [f32]) {
    debug_assert!(pixels > 0 && c > 0 && dy.len() == x.len() && dy.len() == ds.len() * pixels, "scale_bwd_scale: [{pixels}, {c}]");
    par::for_each_chunk_mut(ds, c, dy.len() >= PARALLEL_MIN, |image, ds_i| {
        ds_i.fill(0.0);
        let start = image * pixels * c;
        for p in 0..pixels {
            let r = start + p * c..start + (p + 1) * c;
            vecops::mul_add_assign(ds_i, &dy[r.clone()], &x[r]);
        }
    });
}
