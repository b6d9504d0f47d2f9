//! Activations, forward and backward, element-wise over any layout (softmax:
//! row-wise over `[rows, cols]`, see `SoftmaxGeom`). Every slice of one call
//! has the same length; outputs are fully overwritten.
//!
//! Which saved tensor each backward reads:
//! - ReLU: from `y` (`y > 0` exactly when `x > 0`), so `x` need not be kept;
//! - bounded ReLU (ReLU6): from `y` (`0 < y < max` exactly when `0 < x < max`);
//! - LeakyReLU: from `x` (with `alpha <= 0`, `y`'s sign would not tell);
//! - Sigmoid, Tanh, Softmax: from `y` (their derivatives are functions of `y`);
//! - Swish (SiLU), hard sigmoid, hard swish: from `x` (`y` does not
//!   determine `x`: each is non-monotonic or flat somewhere).
//!
//! Hard sigmoid and hard swish follow PyTorch's `hardsigmoid`/`hardswish`
//! (and Keras 3's): `relu6(x + 3) / 6` and `x · relu6(x + 3) / 6`, evaluated
//! in that order; their backward passes use PyTorch's conventions at the
//! kinks (hard sigmoid: slope 1/6 strictly inside (-3, 3); hard swish: 0
//! below -3, `x/3 + 1/2` on [-3, 3], 1 above).
//!
//! At the kink `x = 0`, ReLU and LeakyReLU use the slope of the `x <= 0` side
//! (0 and `alpha`), like TensorFlow. Bounded ReLU passes the gradient only
//! strictly inside `(0, max)`, PyTorch's `hardtanh` convention (so ReLU6 at
//! exactly 0 or 6 gets none).
//!
//! Work is split into fixed chunks of `CHUNK` elements (softmax: whole rows),
//! each element computed independently, so results never depend on threads.

use crate::geom::SoftmaxGeom;
use crate::par;

/// Elements per parallel chunk.
const CHUNK: usize = 1 << 14;
/// Below this many elements a pass runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// `out[i] = f(a[i])`, in parallel chunks.
fn map1(a: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32 + Sync + Send) {
    debug_assert_eq!(a.len(), out.len());
    par::for_each_chunk_mut(out, CHUNK, out.len() >= PARALLEL_MIN, |i, o| {
        for (ov, &av) in o.iter_mut().zip(&a[i * CHUNK..]) {
            *ov = f(av);
        }
    });
}

/// `out[i] = f(a[i], b[i])`, in parallel chunks.
fn map2(a: &[f32], b: &[f32], out: &mut [f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) {
    debug_assert!(a.len() == out.len() && b.len() == out.len());
    par::for_each_chunk_mut(out, CHUNK, out.len() >= PARALLEL_MIN, |i, o| {
        for ((ov, &av), &bv) in o.iter_mut().zip(&a[i * CHUNK..]).zip(&b[i * CHUNK..]) {
            *ov = f(av, bv);
        }
    });
}

/// ReLU: `y = max(x, 0)`.
pub fn relu_fwd(x: &[f32], y: &mut [f32]) {
    map1(x, y, |v| if v > 0.0 { v } else { 0.0 });
}

/// ReLU over `y` in place, element for element as `relu_fwd`.
pub fn relu_in_place(y: &mut [f32]) {
    let parallel = y.len() >= PARALLEL_MIN;
    par::for_each_chunk_mut(y, CHUNK, parallel, |_, c| {
        for v in c {
            if !(*v > 0.0) {
                *v = 0.0;
            }
        }
    });
}

/// ReLU backward from the output: `dx = dy` where `y > 0`, else 0.
pub fn relu_bwd(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(y, dy, dx, |yv, d| if yv > 0.0 { d } else { 0.0 });
}

/// Bounded ReLU (ReLU6 for `max = 6`, Keras `ReLU(max_value)`, PyTorch
/// `Hardtanh(0, max)`): `y = min(max(x, 0), max)`; NaN gives 0, as in `relu_fwd`.
/// `max` must be > 0 (`f32::INFINITY` is plain ReLU).
pub fn relu_max_fwd(max: f32, x: &[f32], y: &mut [f32]) {
    debug_assert!(max > 0.0, "relu_max_fwd: max {max} must be > 0");
    map1(x, y, |v| if v > 0.0 { if v < max { v } else { max } } else { 0.0 });
}

/// Bounded ReLU backward from the output: `dx = dy` where `0 < y < max`, else 0.
pub fn relu_max_bwd(max: f32, y: &[f32], dy: &[f32], dx: &mut [f32]) {
    debug_assert!(max > 0.0, "relu_max_bwd: max {max} must be > 0");
    map2(y, dy, dx, |yv, d| if yv > 0.0 && yv < max { d } else { 0.0 });
}

/// LeakyReLU: `y = x` if `x > 0`, else `alpha · x` (Keras' `negative_slope`, default 0.3).
pub fn leaky_relu_fwd(alpha: f32, x: &[f32], y: &mut [f32]) {
    map1(x, y, |v| if v > 0.0 { v } else { alpha * v });
}

/// LeakyReLU backward from the input: `dx = dy` if `x > 0`, else `alpha · dy`.
pub fn leaky_relu_bwd(alpha: f32, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(x, dy, dx, |xv, d| if xv > 0.0 { d } else { alpha * d });
}

/// Sigmoid: `y = 1 / (1 + exp(-x))`, evaluated as `e/(1 + e)` with
/// `e = exp(x)` for `x < 0` so neither branch overflows.
pub fn sigmoid_fwd(x: &[f32], y: &mut [f32]) {
    map1(x, y, logistic);
}

/// Sigmoid backward from the output: `dx = dy · y · (1 - y)`.
pub fn sigmoid_bwd(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(y, dy, dx, |yv, d| d * (yv * (1.0 - yv)));
}

/// The logistic function of one value, overflow-free on both sides (as `sigmoid_fwd`).
#[inline(always)]
fn logistic(v: f32) -> f32 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// Tanh: `y = tanh(x)`.
pub fn tanh_fwd(x: &[f32], y: &mut [f32]) {
    map1(x, y, f32::tanh);
}

/// Tanh backward from the output: `dx = dy · (1 - y²)`.
pub fn tanh_bwd(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(y, dy, dx, |yv, d| d * (1.0 - yv * yv));
}

/// Swish (SiLU, Keras' `swish`/`silu`, PyTorch's `SiLU`): `y = x · σ(x)`.
pub fn swish_fwd(x: &[f32], y: &mut [f32]) {
    map1(x, y, |v| v * logistic(v));
}

/// Swish backward from the input: `dx = dy · σ(x) · (1 + x · (1 - σ(x)))`.
pub fn swish_bwd(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(x, dy, dx, |xv, d| {
        let s = logistic(xv);
        d * (s * (1.0 + xv * (1.0 - s)))
    });
}

/// `relu6(x + 3)`: hard sigmoid's and hard swish's common part (NaN gives 0, as ReLU).
#[inline(always)]
fn relu6_shifted(v: f32) -> f32 {
    let t = v + 3.0;
    if t > 0.0 { if t < 6.0 { t } else { 6.0 } } else { 0.0 }
}

/// Hard sigmoid: `y = relu6(x + 3) / 6`.
pub fn hard_sigmoid_fwd(x: &[f32], y: &mut [f32]) {
    map1(x, y, |v| relu6_shifted(v) / 6.0);
}

/// Hard sigmoid backward from the input: `dx = dy / 6` where `-3 < x < 3`, else 0.
pub fn hard_sigmoid_bwd(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(x, dy, dx, |xv, d| if xv > -3.0 && xv < 3.0 { d / 6.0 } else { 0.0 });
}

/// Hard swish: `y = x · relu6(x + 3) / 6`.
pub fn hard_swish_fwd(x: &[f32], y: &mut [f32]) {
    map1(x, y, |v| v * relu6_shifted(v) / 6.0);
}

/// Hard swish backward from the input: 0 below -3, `dy · (x/3 + 1/2)` on [-3, 3], `dy` above.
pub fn hard_swish_bwd(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    map2(x, dy, dx, |xv, d| {
        if xv < -3.0 {
            0.0
        } else if xv <= 3.0 {
            d * (xv / 3.0 + 0.5)
        } else {
            d
        }
    });
}

fn softmax_rows_per_chunk(g: &SoftmaxGeom) -> usize {
    (CHUNK / g.cols).max(1)
}

/// Softmax over each row of `[rows, cols]`:
/// `y_j = exp(x_j - max) / sum_k exp(x_k - max)` (the max subtracted for
/// stability; the sum is accumulated in f32 in column order and applied as a
/// multiply by its reciprocal).
pub fn softmax_fwd(g: &SoftmaxGeom, x: &[f32], y: &mut [f32]) {
    debug_assert!(x.len() == g.len() && y.len() == g.len(), "softmax_fwd {g:?}");
    let (cols, rpc) = (g.cols, softmax_rows_per_chunk(g));
    par::for_each_chunk_mut(y, rpc * cols, g.len() >= PARALLEL_MIN, |i, y_rows| {
        for (r, y_row) in y_rows.chunks_mut(cols).enumerate() {
            let row = i * rpc + r;
            let x_row = &x[row * cols..(row + 1) * cols];
            let m = x_row.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
            let mut s = 0.0f32;
            for (yv, &xv) in y_row.iter_mut().zip(x_row) {
                *yv = (xv - m).exp();
                s += *yv;
            }
            crate::vecops::scale_assign(y_row, 1.0 / s);
        }
    });
}

/// Softmax backward from the output, per row: `dx_j = y_j · (dy_j - sum_k dy_k · y_k)`.
pub fn softmax_bwd(g: &SoftmaxGeom, y: &[f32], dy: &[f32], dx: &mut [f32]) {
    debug_assert!(y.len() == g.len() && dy.len() == g.len() && dx.len() == g.len(), "softmax_bwd {g:?}");
    let (cols, rpc) = (g.cols, softmax_rows_per_chunk(g));
    par::for_each_chunk_mut(dx, rpc * cols, g.len() >= PARALLEL_MIN, |i, dx_rows| {
        for (r, dx_row) in dx_rows.chunks_mut(cols).enumerate() {
            let row = i * rpc + r;
            let (y_row, dy_row) = (&y[row * cols..(row + 1) * cols], &dy[row * cols..(row + 1) * cols]);
            let dot: f32 = y_row.iter().zip(dy_row).map(|(a, b)| a * b).sum();
            for ((d, &yv), &g) in dx_row.iter_mut().zip(y_row).zip(dy_row) {
                *d = yv * (g - dot);
            }
        }
    });
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
