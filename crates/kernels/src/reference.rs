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

use crate::geom::{Conv2dGeom, DepthwiseGeom, Pad2dGeom};

/// The spatial part of a convolution's geometry: what `window_taps` walks.
struct Spatial {
    n: usize,
    h_in: usize,
    w_in: usize,
    h_out: usize,
    w_out: usize,
    k_h: usize,
    k_w: usize,
    stride_h: usize,
    stride_w: usize,
    pad_top: usize,
    pad_left: usize,
}

impl From<&Conv2dGeom> for Spatial {
    fn from(g: &Conv2dGeom) -> Self {
        let Conv2dGeom { n, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left, .. } = *g;
        Spatial { n, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left }
    }
}

impl From<&DepthwiseGeom> for Spatial {
    fn from(g: &DepthwiseGeom) -> Self {
        let DepthwiseGeom { n, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left, .. } = *g;
        Spatial { n, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left }
    }
}

/// Visits every (output pixel, kernel tap) pair of a convolution whose input
/// pixel lies inside the image, passing the flat offsets of the output pixel
/// `(n, oh, ow)` in `y` (÷ output channels), of the tap `(kh, kw)` in `w`
/// (÷ weights per tap), and of the input pixel in `x` (÷ input channels).
/// Padding taps are skipped: they read zeros.
fn window_taps(g: impl Into<Spatial>, mut f: impl FnMut(usize, usize, usize)) {
    let g: Spatial = g.into();
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

/// `out[row·len + j] = bias[j]` for every row (zeros without a bias), in f64.
fn broadcast_bias<T: Copy + Into<f64>>(len: usize, rows_len: usize, bias: Option<&[T]>) -> Vec<f64> {
    let mut y = vec![0.0f64; rows_len];
    if let Some(b) = bias {
        for row in y.chunks_mut(len) {
            for (v, &bias) in row.iter_mut().zip(b) {
                *v = bias.into();
            }
        }
    }
    y
}

/// Sum over rows of a `[rows, len]` tensor, in f64 (a bias gradient).
fn column_sums<T: Copy + Into<f64>>(len: usize, v: &[T]) -> Vec<f64> {
    let mut s = vec![0.0f64; len];
    for row in v.chunks(len) {
        for (d, &x) in s.iter_mut().zip(row) {
            *d += x.into();
        }
    }
    s
}

/// Convolution forward (see `Conv2dGeom` for the formula and layouts) in f64.
/// Generic over the element type so gradient checks can feed f64 inputs.
pub fn conv2d_fwd<T: Copy + Into<f64>>(g: &Conv2dGeom, x: &[T], w: &[T], b: Option<&[T]>) -> Vec<f64> {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let mut y = broadcast_bias(co_n, g.y_len(), b);
    window_taps(g, |out_px, tap, in_px| {
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
    window_taps(g, |out_px, tap, in_px| {
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
    window_taps(g, |out_px, tap, in_px| {
        for ci in 0..ci_n {
            for co in 0..co_n {
                dw[(tap * ci_n + ci) * co_n + co] += x[in_px * ci_n + ci].into() * dy[out_px * co_n + co].into();
            }
        }
    });
    (dw, column_sums(co_n, dy))
}

/// Depthwise convolution forward (see `DepthwiseGeom`) in f64.
pub fn depthwise_fwd<T: Copy + Into<f64>>(g: &DepthwiseGeom, x: &[T], w: &[T], b: Option<&[T]>) -> Vec<f64> {
    let (ci_n, dm, co_n) = (g.c_in, g.depth_multiplier, g.c_out());
    let mut y = broadcast_bias(co_n, g.y_len(), b);
    window_taps(g, |out_px, tap, in_px| {
        for c in 0..ci_n {
            for m in 0..dm {
                y[out_px * co_n + c * dm + m] += x[in_px * ci_n + c].into() * w[tap * co_n + c * dm + m].into();
            }
        }
    });
    y
}

/// Gradient of `L` w.r.t. `x` given `dy`, in f64: the adjoint of `depthwise_fwd`.
pub fn depthwise_bwd_input<T: Copy + Into<f64>>(g: &DepthwiseGeom, w: &[T], dy: &[T]) -> Vec<f64> {
    let (ci_n, dm, co_n) = (g.c_in, g.depth_multiplier, g.c_out());
    let mut dx = vec![0.0f64; g.x_len()];
    window_taps(g, |out_px, tap, in_px| {
        for c in 0..ci_n {
            for m in 0..dm {
                dx[in_px * ci_n + c] += dy[out_px * co_n + c * dm + m].into() * w[tap * co_n + c * dm + m].into();
            }
        }
    });
    dx
}

/// Gradients of `L` w.r.t. the depthwise weights and bias given `dy`, in f64.
pub fn depthwise_bwd_weight<T: Copy + Into<f64>>(g: &DepthwiseGeom, x: &[T], dy: &[T]) -> (Vec<f64>, Vec<f64>) {
    let (ci_n, dm, co_n) = (g.c_in, g.depth_multiplier, g.c_out());
    let mut dw = vec![0.0f64; g.w_len()];
    window_taps(g, |out_px, tap, in_px| {
        for c in 0..ci_n {
            for m in 0..dm {
                dw[tap * co_n + c * dm + m] += x[in_px * ci_n + c].into() * dy[out_px * co_n + c * dm + m].into();
            }
        }
    });
    (dw, column_sums(co_n, dy))
}

/// Zero padding (see `Pad2dGeom`), in f64.
pub fn pad2d(g: &Pad2dGeom, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; g.y_len()];
    for i in 0..g.n {
        for h in 0..g.h_in {
            for w in 0..g.w_in {
                for ch in 0..g.c {
                    y[((i * g.h_out + g.top + h) * g.w_out + g.left + w) * g.c + ch] = x[((i * g.h_in + h) * g.w_in + w) * g.c + ch];
                }
            }
        }
    }
    y
}

/// Element-wise sum of same-length tensors, in f64.
pub fn add(inputs: &[Vec<f64>]) -> Vec<f64> {
    (0..inputs[0].len()).map(|j| inputs.iter().map(|v| v[j]).sum()).collect()
}

/// `[pixels, c_i]` parts joined on the channel axis into `[pixels, sum c_i]`.
pub fn concat_channels<T: Copy + Into<f64>>(pixels: usize, parts: &[(&[T], usize)]) -> Vec<f64> {
    let mut y = Vec::new();
    for p in 0..pixels {
        for &(x, c) in parts {
            y.extend(x[p * c..(p + 1) * c].iter().map(|&v| v.into()));
        }
    }
    y
}

/// Element-wise `|v|` in f64: with the functions above it gives the scale
/// `sum |a·b|` against which an f32 kernel's rounding error is bounded.
pub fn abs64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|x| x.abs() as f64).collect()
}

// ---------------------------------------------------------------------------
// Losses (crate::loss) and one step of each optimizer (crate::optim), in f64.

/// Loss, correct count and `d(loss)/d(logits)` of a reference loss.
#[derive(Debug, Clone)]
pub struct LossRef {
    pub loss: f64,
    pub correct: usize,
    pub dlogits: Vec<f64>,
}

/// Index of the first maximum.
fn first_argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for j in 1..x.len() {
        if x[j] > x[best] {
            best = j;
        }
    }
    best
}

/// Softmax cross-entropy over `logits` `[n, classes]` (spec of
/// `loss::softmax_cross_entropy`): `t = y·(1-ls) + ls/classes` from the
/// one-hot label or the target row `y`; `ce_i = -sum_j t_j·log softmax(z_i)_j`;
/// `loss = sum_i w_i·ce_i / n` with `w_i` the weight of row i's class (label or
/// first argmax of `y`); `dlogits = w_i/n · (softmax(z_i)·sum_j t_j - t)`.
pub fn softmax_cross_entropy(
    n: usize,
    classes: usize,
    logits: &[f64],
    targets: crate::loss::Targets<'_>,
    class_weights: Option<&[f32]>,
    label_smoothing: f64,
) -> LossRef {
    use crate::loss::Targets;
    let mut loss = 0.0;
    let mut correct = 0;
    let mut dlogits = vec![0.0; n * classes];
    for i in 0..n {
        let z = &logits[i * classes..(i + 1) * classes];
        let y: Vec<f64> = match targets {
            Targets::Labels(l) => (0..classes).map(|j| (j == l[i] as usize) as u8 as f64).collect(),
            Targets::LabelsI32(l) => (0..classes).map(|j| (j as i64 == l[i] as i64) as u8 as f64).collect(),
            Targets::Dense(t) => t[i * classes..(i + 1) * classes].iter().map(|&v| v as f64).collect(),
        };
        let class = first_argmax(&y);
        let w = class_weights.map_or(1.0, |cw| cw[class] as f64);
        let t: Vec<f64> = y.iter().map(|&v| v * (1.0 - label_smoothing) + label_smoothing / classes as f64).collect();
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|&v| (v - m).exp()).sum::<f64>().ln();
        let ce: f64 = (0..classes).map(|j| -t[j] * (z[j] - lse)).sum();
        let total: f64 = t.iter().sum();
        for j in 0..classes {
            dlogits[i * classes + j] = w / n as f64 * ((z[j] - lse).exp() * total - t[j]);
        }
        loss += w * ce;
        correct += (first_argmax(z) == class) as usize;
    }
    LossRef { loss: loss / n as f64, correct, dlogits }
}

/// Binary cross-entropy from logits `[n]` (spec of
/// `loss::binary_cross_entropy`): `y_s = y·(1-ls) + ls/2`;
/// `bce_i = -(y_s·log σ(z) + (1-y_s)·log(1-σ(z)))`, evaluated as
/// `max(z,0) - z·y_s + log(1 + exp(-|z|))`; `loss = sum_i w_i·bce_i / n` with
/// `w_i = class_weights[y > 0.5]`; `dlogits = w_i/n · (σ(z) - y_s)`; correct
/// when `(z > 0) == (y > 0.5)`.
pub fn binary_cross_entropy(
    n: usize,
    logits: &[f64],
    targets: &[f32],
    class_weights: Option<[f32; 2]>,
    label_smoothing: f64,
) -> LossRef {
    let cw = class_weights.unwrap_or([1.0, 1.0]);
    let mut loss = 0.0;
    let mut correct = 0;
    let mut dlogits = vec![0.0; n];
    for i in 0..n {
        let (z, y) = (logits[i], targets[i] as f64);
        let class = (y > 0.5) as usize;
        let w = cw[class] as f64;
        let ys = y * (1.0 - label_smoothing) + label_smoothing / 2.0;
        loss += w * (z.max(0.0) - z * ys + (-z.abs()).exp().ln_1p());
        dlogits[i] = w / n as f64 * (1.0 / (1.0 + (-z).exp()) - ys);
        correct += ((z > 0.0) as usize == class) as usize;
    }
    LossRef { loss: loss / n as f64, correct, dlogits }
}

/// One Keras SGD step: momentum 0: `p -= lr·g`; else `v = μ·v - lr·g` and
/// `p += v` (or Nesterov `p += μ·v - lr·g`).
pub fn sgd_step(lr: f64, momentum: f64, nesterov: bool, p: &mut [f64], g: &[f64], v: &mut [f64]) {
    for i in 0..p.len() {
        if momentum == 0.0 {
            p[i] -= lr * g[i];
            continue;
        }
        v[i] = momentum * v[i] - lr * g[i];
        p[i] += if nesterov { momentum * v[i] - lr * g[i] } else { v[i] };
    }
}

/// One Adam(W) step `t` (>= 1): parameters inside `decay_ranges` first get
/// `p -= lr·wd·p` (pass `wd = 0` for Adam); then `m = β1·m + (1-β1)·g`,
/// `v = β2·v + (1-β2)·g²`, `p -= lr·m̂ / (sqrt(v̂) + ε)` with
/// `m̂ = m/(1-β1^t)`, `v̂ = v/(1-β2^t)`.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    t: u32,
    weight_decay: f64,
    decay_ranges: &[crate::optim::ParamRange],
    p: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
) {
    for i in 0..p.len() {
        if decay_ranges.iter().any(|r| r.offset <= i && i < r.offset + r.len) {
            p[i] -= lr * weight_decay * p[i];
        }
        m[i] = beta1 * m[i] + (1.0 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
        let m_hat = m[i] / (1.0 - beta1.powi(t as i32));
        let v_hat = v[i] / (1.0 - beta2.powi(t as i32));
        p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
    }
}

/// L2 penalty `c·sum(W²)` over `ranges` of `params`, adding `2c·W` to `grads`;
/// `c = lambda` (Keras) or `lambda/(2·batch)` (the study). Returns the penalty.
pub fn l2_penalty(
    form: crate::optim::L2Form,
    lambda: f64,
    ranges: &[crate::optim::ParamRange],
    params: &[f64],
    grads: &mut [f64],
) -> f64 {
    let c = match form {
        crate::optim::L2Form::Keras => lambda,
        crate::optim::L2Form::Study { batch } => lambda / (2.0 * batch as f64),
    };
    let mut sum = 0.0;
    for r in ranges {
        for i in r.offset..r.offset + r.len {
            sum += params[i] * params[i];
            grads[i] += 2.0 * c * params[i];
        }
    }
    c * sum
}

/// Clips `grads` to global norm `max_norm`; returns the norm before clipping.
pub fn clip_by_global_norm(grads: &mut [f64], max_norm: f64) -> f64 {
    let norm = grads.iter().map(|g| g * g).sum::<f64>().sqrt();
    if norm > max_norm {
        for g in grads.iter_mut() {
            *g *= max_norm / norm;
        }
    }
    norm
}

// ---- pooling, batch normalisation, activations, dropout -------------------
// These take f64 inputs so gradient checks can differentiate them numerically;
// `widen` converts a kernel's f32 input.

use crate::geom::{BatchNormGeom, Pool2dGeom, SoftmaxGeom};

/// `x` as f64.
pub fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Visits every output `(flat output index, list of flat input indices in its
/// window in scan order, number of window cells inside the padded input)`;
/// padded cells are skipped from the list. Written from the formula: window
/// rows `oh·stride_h - pad_top ..+ k_h`, columns likewise; the padded input
/// spans rows `-pad_top .. h_in + pad_bottom` and columns likewise.
fn pool_windows(g: &Pool2dGeom, mut f: impl FnMut(usize, &[usize], usize)) {
    let mut cells = Vec::new();
    for i in 0..g.n {
        for oh in 0..g.h_out {
            for ow in 0..g.w_out {
                for ch in 0..g.c {
                    cells.clear();
                    let mut padded = 0;
                    for kh in 0..g.k_h {
                        for kw in 0..g.k_w {
                            let h = (oh * g.stride_h + kh) as isize - g.pad_top as isize;
                            let w = (ow * g.stride_w + kw) as isize - g.pad_left as isize;
                            if h < (g.h_in + g.pad_bottom) as isize && w < (g.w_in + g.pad_right) as isize {
                                padded += 1;
                            }
                            if h >= 0 && w >= 0 && (h as usize) < g.h_in && (w as usize) < g.w_in {
                                cells.push(((i * g.h_in + h as usize) * g.w_in + w as usize) * g.c + ch);
                            }
                        }
                    }
                    f(((i * g.h_out + oh) * g.w_out + ow) * g.c + ch, &cells, padded);
                }
            }
        }
    }
}

/// The divisor of an average pooling window: its input cells, or with
/// `count_include_pad` its cells inside the padded input.
fn avg_divisor(g: &Pool2dGeom, cells: &[usize], padded: usize) -> f64 {
    if g.options.count_include_pad { padded as f64 } else { cells.len() as f64 }
}

/// Max pooling: values and the flat input index of each window's first maximum.
pub fn maxpool2d_with_argmax(g: &Pool2dGeom, x: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut y = vec![f64::NAN; g.y_len()];
    let mut arg = vec![usize::MAX; g.y_len()];
    pool_windows(g, |o, cells, _| {
        let mut best = cells[0];
        for &c in &cells[1..] {
            if x[c] > x[best] {
                best = c;
            }
        }
        y[o] = x[best];
        arg[o] = best;
    });
    (y, arg)
}

/// Max pooling values.
pub fn maxpool2d(g: &Pool2dGeom, x: &[f64]) -> Vec<f64> {
    maxpool2d_with_argmax(g, x).0
}

/// Average pooling; padded cells never count in the sum, and in the divisor
/// only with `count_include_pad`.
pub fn avgpool2d(g: &Pool2dGeom, x: &[f64]) -> Vec<f64> {
    let mut y = vec![f64::NAN; g.y_len()];
    pool_windows(g, |o, cells, padded| y[o] = cells.iter().map(|&c| x[c]).sum::<f64>() / avg_divisor(g, cells, padded));
    y
}

/// Max pooling backward: `dy` of each output goes to its window's first maximum.
pub fn maxpool2d_bwd(g: &Pool2dGeom, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; g.x_len()];
    for (o, &a) in maxpool2d_with_argmax(g, x).1.iter().enumerate() {
        dx[a] += dy[o];
    }
    dx
}

/// Average pooling backward: `dy / divisor` to every input cell of the window.
pub fn avgpool2d_bwd(g: &Pool2dGeom, dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; g.x_len()];
    pool_windows(g, |o, cells, padded| {
        for &c in cells {
            dx[c] += dy[o] / avg_divisor(g, cells, padded);
        }
    });
    dx
}

/// Global average pooling of `[n, h, w, c]` to `[n, c]`.
pub fn global_avgpool2d(n: usize, h: usize, w: usize, c: usize, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n * c];
    for i in 0..n {
        for p in 0..h * w {
            for ch in 0..c {
                y[i * c + ch] += x[(i * h * w + p) * c + ch];
            }
        }
    }
    y.iter().map(|s| s / (h * w) as f64).collect()
}

/// Batch normalisation in training mode: per channel over all `rows`,
/// `mean`, biased `var`, and `y = gamma · (x - mean) / sqrt(var + eps) + beta`.
pub struct BatchNormTrain {
    pub y: Vec<f64>,
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

pub fn batchnorm_train(g: &BatchNormGeom, epsilon: f64, x: &[f64], gamma: &[f64], beta: &[f64]) -> BatchNormTrain {
    let (rows, c) = (g.rows, g.c);
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        mean[ch] = (0..rows).map(|r| x[r * c + ch]).sum::<f64>() / rows as f64;
        var[ch] = (0..rows).map(|r| (x[r * c + ch] - mean[ch]).powi(2)).sum::<f64>() / rows as f64;
    }
    let y = batchnorm_infer(g, epsilon, x, gamma, beta, &mean, &var);
    BatchNormTrain { y, mean, var }
}

/// Batch normalisation with given statistics: `y = gamma · (x - mean) / sqrt(var + eps) + beta`.
pub fn batchnorm_infer(
    g: &BatchNormGeom,
    epsilon: f64,
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
) -> Vec<f64> {
    let c = g.c;
    (0..g.len()).map(|i| {
        let ch = i % c;
        gamma[ch] * (x[i] - mean[ch]) / (var[ch] + epsilon).sqrt() + beta[ch]
    })
    .collect()
}

pub fn relu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| if v > 0.0 { v } else { 0.0 }).collect()
}

/// `min(max(x, 0), max)`, with +0 for every `x <= 0` (as `relu`).
pub fn relu_max(max: f64, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| if v > 0.0 { v.min(max) } else { 0.0 }).collect()
}

pub fn leaky_relu(alpha: f64, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| if v > 0.0 { v } else { alpha * v }).collect()
}

pub fn sigmoid(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect()
}

pub fn tanh(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.tanh()).collect()
}

/// `x · σ(x)`.
pub fn swish(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v / (1.0 + (-v).exp())).collect()
}

/// `min(max(x + 3, 0), 6) / 6`.
pub fn hard_sigmoid(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| (v + 3.0).clamp(0.0, 6.0) / 6.0).collect()
}

/// `x · min(max(x + 3, 0), 6) / 6`.
pub fn hard_swish(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0).collect()
}

/// Row-wise `softmax(x)_j = exp(x_j - max) / sum_k exp(x_k - max)`.
pub fn softmax(g: &SoftmaxGeom, x: &[f64]) -> Vec<f64> {
    x.chunks(g.cols)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
            row.iter().map(move |v| (v - m).exp() / s)
        })
        .collect()
}

/// Inverted dropout: element `i` is kept iff `uniform_f32(seed, stream, i) >= rate`,
/// then scaled by `1 / (1 - rate)`; dropped elements are zero.
pub fn dropout(rate: f32, seed: u64, stream: u64, x: &[f64]) -> Vec<f64> {
    let rng = crate::rng::CounterRng::new(seed, stream);
    x.iter()
        .enumerate()
        .map(|(i, &v)| if rng.uniform_f32(i as u64) >= rate { v / (1.0 - rate as f64) } else { 0.0 })
        .collect()
}

// ---- image transforms (crate::image) ---------------------------------------
// Written from Keras' and torchvision's definitions, in f64: the geometry as
// 3×3 homogeneous matrices multiplied out like Keras' apply_affine_transform.

use crate::image::{AffineParams, FillMode, JitterParams, Preprocess};

fn mat3_mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// Keras' matrix (output `(row, col, 1)` → input point), without the flips:
/// `offset · R · T · Sh · Z · reset` about `o = (h/2 - 0.5, w/2 - 0.5)`.
pub fn keras_affine_matrix(p: &AffineParams, h: usize, w: usize) -> [[f64; 3]; 3] {
    let (th, sh) = (p.theta.to_radians(), p.shear.to_radians());
    let rot = [[th.cos(), -th.sin(), 0.0], [th.sin(), th.cos(), 0.0], [0.0, 0.0, 1.0]];
    let shift = [[1.0, 0.0, p.tx], [0.0, 1.0, p.ty], [0.0, 0.0, 1.0]];
    let shear = [[1.0, -sh.sin(), 0.0], [0.0, sh.cos(), 0.0], [0.0, 0.0, 1.0]];
    let zoom = [[p.zx, 0.0, 0.0], [0.0, p.zy, 0.0], [0.0, 0.0, 1.0]];
    let (ox, oy) = (h as f64 / 2.0 - 0.5, w as f64 / 2.0 - 0.5);
    let offset = [[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]];
    let reset = [[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]];
    let m = mat3_mul(&mat3_mul(&mat3_mul(&rot, &shift), &shear), &zoom);
    mat3_mul(&mat3_mul(&offset, &m), &reset)
}

/// The input point output pixel `(r, col)` samples: the flips (applied after
/// the warp in Keras) pick the warped pixel, the matrix maps it to the input.
pub fn image_warp_coord(p: &AffineParams, h: usize, w: usize, r: usize, col: usize) -> (f64, f64) {
    let m = keras_affine_matrix(p, h, w);
    let rr = if p.vflip { h - 1 - r } else { r } as f64;
    let cc = if p.hflip { w - 1 - col } else { col } as f64;
    (m[0][0] * rr + m[0][1] * cc + m[0][2], m[1][0] * rr + m[1][1] * cc + m[1][2])
}

/// Index `i` of an axis of length `n` extended by mirroring about the edges
/// (`d c b a | a b c d | d c b a`).
fn reflect_index(mut i: i64, n: usize) -> usize {
    let n = n as i64;
    while i < 0 || i >= n {
        i = if i < 0 { -i - 1 } else { 2 * n - 1 - i };
    }
    i as usize
}

/// Bilinear sample of channel `ch` at `(y, x)`: `constant` gives `cval`
/// outside `[0, h-1] × [0, w-1]`; `nearest` clamps the point into the image;
/// `reflect` mirrors the four neighbour indices.
#[allow(clippy::too_many_arguments)]
pub fn bilinear_sample(src: &[u8], h: usize, w: usize, c: usize, ch: usize, y: f64, x: f64, fill: FillMode, cval: f64) -> f64 {
    let (hm1, wm1) = ((h - 1) as f64, (w - 1) as f64);
    if fill == FillMode::Constant && !(y >= 0.0 && y <= hm1 && x >= 0.0 && x <= wm1) {
        return cval;
    }
    let (y, x) = if fill == FillMode::Nearest { (y.clamp(0.0, hm1), x.clamp(0.0, wm1)) } else { (y, x) };
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = (y - y0, x - x0);
    let at = |i: i64, j: i64| {
        let (i, j) = match fill {
            FillMode::Reflect => (reflect_index(i, h), reflect_index(j, w)),
            _ => (i.clamp(0, h as i64 - 1) as usize, j.clamp(0, w as i64 - 1) as usize),
        };
        src[(i * w + j) * c + ch] as f64
    };
    let (y0, x0) = (y0 as i64, x0 as i64);
    (1.0 - fy) * (1.0 - fx) * at(y0, x0) + (1.0 - fy) * fx * at(y0, x0 + 1) + fy * (1.0 - fx) * at(y0 + 1, x0) + fy * fx * at(y0 + 1, x0 + 1)
}

/// Keras-style affine warp of one `[h, w, c]` u8 image (0-255 scale out).
pub fn image_warp(p: &AffineParams, fill: FillMode, cval: f64, h: usize, w: usize, c: usize, src: &[u8]) -> Vec<f64> {
    let mut out = vec![f64::NAN; h * w * c];
    for r in 0..h {
        for col in 0..w {
            let (y, x) = image_warp_coord(p, h, w, r, col);
            for ch in 0..c {
                out[(r * w + col) * c + ch] = bilinear_sample(src, h, w, c, ch, y, x, fill, cval);
            }
        }
    }
    out
}

/// torchvision `ColorJitter` with given factors and order, on 0-255 values
/// (clamped to `[0, 255]` after each op); saturation and hue need 3 channels.
pub fn color_jitter(p: &JitterParams, c: usize, img: &[f64]) -> Vec<f64> {
    let clamp = |v: f64| v.clamp(0.0, 255.0);
    let grey = |px: &[f64]| 0.2989 * px[0] + 0.587 * px[1] + 0.114 * px[2];
    let mut x = img.to_vec();
    for &op in &p.order {
        match op {
            0 => x.iter_mut().for_each(|v| *v = clamp(p.brightness as f64 * *v)),
            1 => {
                let f = p.contrast as f64;
                let mean = if c == 3 {
                    x.chunks(3).map(grey).sum::<f64>() / (x.len() / 3) as f64
                } else {
                    x.iter().sum::<f64>() / x.len() as f64
                };
                x.iter_mut().for_each(|v| *v = clamp(f * *v + (1.0 - f) * mean));
            }
            2 if c == 3 => {
                let f = p.saturation as f64;
                for px in x.chunks_mut(3) {
                    let g = grey(px);
                    px.iter_mut().for_each(|v| *v = clamp(f * *v + (1.0 - f) * g));
                }
            }
            3 if c == 3 => {
                for px in x.chunks_mut(3) {
                    let (r, g, b) = (px[0], px[1], px[2]);
                    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
                    let d = max - min;
                    if d == 0.0 {
                        continue;
                    }
                    // Textbook HSV (hue in sixths of the wheel).
                    let h6 = if max == r { ((g - b) / d).rem_euclid(6.0) } else if max == g { (b - r) / d + 2.0 } else { (r - g) / d + 4.0 };
                    let h = (h6 / 6.0 + p.hue as f64).rem_euclid(1.0) * 6.0;
                    let chroma = max * (d / max);
                    let xx = chroma * (1.0 - ((h % 2.0) - 1.0).abs());
                    let m = max - chroma;
                    let (r1, g1, b1) = match h as u32 {
                        0 => (chroma, xx, 0.0),
                        1 => (xx, chroma, 0.0),
                        2 => (0.0, chroma, xx),
                        3 => (0.0, xx, chroma),
                        4 => (xx, 0.0, chroma),
                        _ => (chroma, 0.0, xx),
                    };
                    px[0] = clamp(r1 + m);
                    px[1] = clamp(g1 + m);
                    px[2] = clamp(b1 + m);
                }
            }
            _ => {}
        }
    }
    x
}

/// Preprocessing of 0-255 values (see `image::Preprocess`).
pub fn image_preprocess(p: &Preprocess, c: usize, img: &[f64]) -> Vec<f64> {
    let mut out = img.to_vec();
    for (px_out, px) in out.chunks_mut(c).zip(img.chunks(c)) {
        for ch in 0..c {
            px_out[ch] = match *p {
                Preprocess::None => px[ch],
                Preprocess::MinMax => px[ch] / 255.0,
                Preprocess::Caffe { mean } => px[if c == 3 { 2 - ch } else { ch }] - mean[ch] as f64,
                Preprocess::Standardize { mean, std } => (px[ch] / 255.0 - mean[ch] as f64) / std[ch] as f64,
            };
        }
    }
    out
}

// ---- stain jitter (crate::image::hed) ---------------------------------------

/// Gauss-Jordan inverse of a 3×3 matrix with partial pivoting.
pub fn invert3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut a = [[0.0; 6]; 3];
    for i in 0..3 {
        a[i][..3].copy_from_slice(&m[i]);
        a[i][3 + i] = 1.0;
    }
    for col in 0..3 {
        let pivot = (col..3).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs())).unwrap();
        a.swap(col, pivot);
        let p = a[col][col];
        a[col].iter_mut().for_each(|v| *v /= p);
        for r in 0..3 {
            if r != col {
                let f = a[r][col];
                let row = a[col];
                a[r].iter_mut().zip(row).for_each(|(v, x)| *v -= f * x);
            }
        }
    }
    [0, 1, 2].map(|i| [a[i][3], a[i][4], a[i][5]])
}

/// scikit-image (<= 0.15) `hed2rgb(alpha·rgb2hed(img) + beta)` per pixel, on
/// 0-255 values: concentrations in optical density, with
/// `rgb_from_hed = [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]]`.
pub fn hed_jitter(scale: [f64; 3], shift: [f64; 3], img: &[f64]) -> Vec<f64> {
    let rgb_from_hed = [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]];
    let hed_from_rgb = invert3(&rgb_from_hed);
    let mut out = img.to_vec();
    for px in out.chunks_mut(3) {
        let od: Vec<f64> = px.iter().map(|&v| -(v / 255.0).max(1e-6).ln()).collect();
        let s: Vec<f64> = (0..3).map(|k| (0..3).map(|c| od[c] * hed_from_rgb[c][k]).sum::<f64>().max(0.0) * scale[k] + shift[k]).collect();
        for c in 0..3 {
            let od_out: f64 = (0..3).map(|k| s[k] * rgb_from_hed[k][c]).sum();
            px[c] = (255.0 * (-od_out).exp()).clamp(0.0, 255.0);
        }
    }
    out
}
