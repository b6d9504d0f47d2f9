//! Naive reference implementations: the specification of every kernel and the
//! oracle its tests compare against. Accumulate in f64 so the reference is more
//! accurate than the kernel under test; tests bound the kernel's error.

/// `C = A·B (+ bias)`, row-major, computed in f64.
pub fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += a[i * k + p] as f64 * b[p * n + j] as f64;
            }
            c[i * n + j] = s + bias.map_or(0.0, |bias| bias[j] as f64);
        }
    }
    c
}

/// For each output of a dot-product kernel, `sum |a_p · b_p|` (plus `|bias|`):
/// the scale against which f32 rounding error is bounded.
pub fn gemm_abs(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
    let abs_a: Vec<f32> = a.iter().map(|x| x.abs()).collect();
    let abs_b: Vec<f32> = b.iter().map(|x| x.abs()).collect();
    let abs_bias: Option<Vec<f32>> = bias.map(|v| v.iter().map(|x| x.abs()).collect());
    gemm(m, k, n, &abs_a, &abs_b, abs_bias.as_deref())
}

use crate::geom::Conv2dGeom;

/// Visits every (output pixel, kernel tap) pair of a convolution whose input
/// pixel lies inside the image, passing the flat offsets of the output pixel
/// `(n, oh, ow)` in `y` (÷ c_out), of the tap `(kh, kw)` in `w` (÷ c_in·c_out),
/// and of the input pixel in `x` (÷ c_in). Padding taps are skipped: they read
/// zeros.
fn conv2d_taps(g: &Conv2dGeom, mut f: impl FnMut(usize, usize, usize)) {
    for n in 0..g.n {
        for oh in 0..g.h_out {
            for ow in 0..g.w_out {
                let out_px = (n * g.h_out + oh) * g.w_out + ow;
                for kh in 0..g.k_h {
                    for kw in 0..g.k_w {
                        let ih = (oh * g.stride_h + kh) as isize - g.pad_top as isize;
                        let iw = (ow * g.stride_w + kw) as isize - g.pad_left as isize;
                        if ih < 0 || iw < 0 || ih >= g.h_in as isize || iw >= g.w_in as isize {
                            continue;
                        }
                        let in_px = (n * g.h_in + ih as usize) * g.w_in + iw as usize;
                        f(out_px, kh * g.k_w + kw, in_px);
                    }
                }
            }
        }
    }
}

/// Convolution forward (see `Conv2dGeom` for the formula and layouts) in f64.
/// Generic over the element type so gradient checks can feed f64 inputs.
pub fn conv2d_fwd<T: Copy + Into<f64>>(g: &Conv2dGeom, x: &[T], w: &[T], b: Option<&[T]>) -> Vec<f64> {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let mut y = vec![0.0f64; g.y_len()];
    if let Some(b) = b {
        for row in y.chunks_mut(co_n) {
            for (v, &bias) in row.iter_mut().zip(b) {
                *v = bias.into();
            }
        }
    }
    conv2d_taps(g, |out_px, tap, in_px| {
        for ci in 0..ci_n {
            let xv: f64 = x[in_px * ci_n + ci].into();
            for co in 0..co_n {
                y[out_px * co_n + co] += xv * w[(tap * ci_n + ci) * co_n + co].into();
            }
        }
    });
    y
}

/// Gradient of `L` w.r.t. `x` given `dy = dL/dy`, in f64: the adjoint of
/// `conv2d_fwd` (`dx[in_px, ci] += dy[out_px, co] · w[tap, ci, co]`).
pub fn conv2d_bwd_input<T: Copy + Into<f64>>(g: &Conv2dGeom, w: &[T], dy: &[T]) -> Vec<f64> {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let mut dx = vec![0.0f64; g.x_len()];
    conv2d_taps(g, |out_px, tap, in_px| {
        for ci in 0..ci_n {
            for co in 0..co_n {
                dx[in_px * ci_n + ci] += dy[out_px * co_n + co].into() * w[(tap * ci_n + ci) * co_n + co].into();
            }
        }
    });
    dx
}

/// Gradients of `L` w.r.t. `w` and `b` given `dy = dL/dy`, in f64:
/// `dw[tap, ci, co] = sum x[in_px, ci] · dy[out_px, co]`, `db[co] = sum dy[.., co]`.
pub fn conv2d_bwd_weight<T: Copy + Into<f64>>(g: &Conv2dGeom, x: &[T], dy: &[T]) -> (Vec<f64>, Vec<f64>) {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let mut dw = vec![0.0f64; g.w_len()];
    conv2d_taps(g, |out_px, tap, in_px| {
        for ci in 0..ci_n {
            for co in 0..co_n {
                dw[(tap * ci_n + ci) * co_n + co] += x[in_px * ci_n + ci].into() * dy[out_px * co_n + co].into();
            }
        }
    });
    let mut db = vec![0.0f64; co_n];
    for row in dy.chunks(co_n) {
        for (d, &v) in db.iter_mut().zip(row) {
            *d += v.into();
        }
    }
    (dw, db)
}

/// Element-wise `|v|` in f64: with the functions above it gives the scale
/// `sum |a·b|` against which an f32 kernel's rounding error is bounded.
pub fn abs64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|x| x.abs() as f64).collect()
}
