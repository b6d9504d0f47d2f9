//! Geometry structs: sizes of each op, validated once at the entry point.
//! The TypeScript layer computes the same shapes (ts/sdk); tests keep them in
//! agreement.

use crate::error::KernelError;

/// Row-major GEMM `C[m×n] = A[m×k] · B[k×n] (+ bias[n])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmGeom {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl GemmGeom {
    /// Validates sizes (all > 0, element counts fit in the address space).
    pub fn new(m: usize, k: usize, n: usize) -> Result<Self, KernelError> {
        for (name, v) in [("m", m), ("k", k), ("n", n)] {
            if v == 0 {
                return Err(KernelError::geometry(format!("gemm: {name} must be >= 1, got 0 (m={m}, k={k}, n={n})")));
            }
        }
        let g = Self { m, k, n };
        for (name, len) in [("A", m.checked_mul(k)), ("B", k.checked_mul(n)), ("C", m.checked_mul(n))] {
            match len.and_then(|l| l.checked_mul(4)) {
                Some(bytes) if bytes <= isize::MAX as usize => {}
                _ => return Err(KernelError::geometry(format!("gemm: {name} is too large (m={m}, k={k}, n={n})"))),
            }
        }
        Ok(g)
    }
    pub fn a_len(&self) -> usize {
        self.m * self.k
    }
    pub fn b_len(&self) -> usize {
        self.k * self.n
    }
    pub fn c_len(&self) -> usize {
        self.m * self.n
    }
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.k as f64 * self.n as f64
    }
}

/// Spatial padding of a convolution or pooling window, with TF/Keras semantics.
///
/// - `Valid`: no padding; `out = floor((in - k) / stride) + 1`, requires `k <= in`.
/// - `Same`: `out = ceil(in / stride)`; total pad `max((out - 1)·stride + k - in, 0)`,
///   of which `total / 2` goes before (top/left) and the rest, one more when the
///   total is odd, after (bottom/right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
}

/// Output size and leading pad of one spatial axis: the one place the
/// output-size math lives. `axis` names the axis in error messages.
pub fn window_out_size(
    op: &str,
    axis: &str,
    input: usize,
    k: usize,
    stride: usize,
    padding: Padding,
) -> Result<(usize, usize), KernelError> {
    match padding {
        Padding::Valid => {
            if k > input {
                return Err(KernelError::geometry(format!(
                    "{op}: kernel {axis} {k} is larger than the input {axis} {input} with 'valid' padding (expected k <= {input})"
                )));
            }
            Ok(((input - k) / stride + 1, 0))
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let span = (out - 1)
                .checked_mul(stride)
                .and_then(|s| s.checked_add(k))
                .ok_or_else(|| KernelError::geometry(format!("{op}: {axis} overflows (input {input}, kernel {k}, stride {stride})")))?;
            let total = span.saturating_sub(input);
            Ok((out, total / 2))
        }
    }
}

/// 2-D convolution, NHWC, with the Keras/TF weight layout.
///
/// Layouts (row-major, densely packed):
/// - `x`: `[n, h_in, w_in, c_in]`
/// - `w`: `[k_h, k_w, c_in, c_out]` (HWIO), so that the im2col GEMM reads
///   `Y[n·h_out·w_out, c_out] = cols[.., k_h·k_w·c_in] · W[k_h·k_w·c_in, c_out] + b`
/// - `b`: `[c_out]`
/// - `y`: `[n, h_out, w_out, c_out]`
///
/// `y[n, oh, ow, co] = b[co] + sum_{kh, kw, ci} x[n, oh·stride_h + kh - pad_top,
/// ow·stride_w + kw - pad_left, ci] · w[kh, kw, ci, co]`, with out-of-range `x`
/// reading as zero. The scratch length the kernels need is
/// `im2col_scratch_len()` (defined beside the kernels in `conv2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dGeom {
    pub n: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub h_out: usize,
    pub w_out: usize,
}

impl Conv2dGeom {
    /// Validates sizes (all >= 1, kernel within the padded input, element
    /// counts that fit in the address space) and derives the output size and
    /// padding.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n: usize,
        h_in: usize,
        w_in: usize,
        c_in: usize,
        c_out: usize,
        k_h: usize,
        k_w: usize,
        stride_h: usize,
        stride_w: usize,
        padding: Padding,
    ) -> Result<Self, KernelError> {
        let fields = [
            ("n", n),
            ("h_in", h_in),
            ("w_in", w_in),
            ("c_in", c_in),
            ("c_out", c_out),
            ("k_h", k_h),
            ("k_w", k_w),
            ("stride_h", stride_h),
            ("stride_w", stride_w),
        ];
        for (name, v) in fields {
            if v == 0 {
                return Err(KernelError::geometry(format!(
                    "conv2d: {name} must be >= 1, got 0 (n={n}, h_in={h_in}, w_in={w_in}, c_in={c_in}, c_out={c_out}, k_h={k_h}, k_w={k_w}, stride_h={stride_h}, stride_w={stride_w})"
                )));
            }
        }
        let (h_out, pad_top) = window_out_size("conv2d", "height", h_in, k_h, stride_h, padding)?;
        let (w_out, pad_left) = window_out_size("conv2d", "width", w_in, k_w, stride_w, padding)?;
        let g = Self { n, h_in, w_in, c_in, c_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left, h_out, w_out };
        let lens = [("x", [n, h_in, w_in, c_in]), ("w", [k_h, k_w, c_in, c_out]), ("y", [n, h_out, w_out, c_out])];
        for (name, dims) in lens {
            let bytes = dims.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d));
            if !bytes.is_some_and(|b| b <= isize::MAX as usize) {
                return Err(KernelError::geometry(format!(
                    "conv2d: {name} {dims:?} is too large (expected at most {} bytes) for geometry {g:?}",
                    isize::MAX
                )));
            }
        }
        Ok(g)
    }
    /// `n·h_in·w_in·c_in`
    pub fn x_len(&self) -> usize {
        self.n * self.h_in * self.w_in * self.c_in
    }
    /// `k_h·k_w·c_in·c_out`
    pub fn w_len(&self) -> usize {
        self.k_h * self.k_w * self.c_in * self.c_out
    }
    /// `n·h_out·w_out·c_out`
    pub fn y_len(&self) -> usize {
        self.n * self.h_out * self.w_out * self.c_out
    }
    /// Length of one im2col row (one receptive field): `k_h·k_w·c_in`.
    pub fn patch_len(&self) -> usize {
        self.k_h * self.k_w * self.c_in
    }
    /// Output pixels over the batch (rows of the im2col GEMM): `n·h_out·w_out`.
    pub fn out_pixels(&self) -> usize {
        self.n * self.h_out * self.w_out
    }
    /// Multiply-adds of the forward pass (and of each backward product).
    pub fn macs(&self) -> f64 {
        self.out_pixels() as f64 * self.patch_len() as f64 * self.c_out as f64
    }
}

/// 2-D pooling over an NHWC tensor: input `[n, h_in, w_in, c]`, window
/// `k_h × k_w` moved by `stride_h × stride_w`, output `[n, h_out, w_out, c]`.
/// Output `(oh, ow)` covers input rows `oh·stride_h - pad_top ..+ k_h` and
/// columns `ow·stride_w - pad_left ..+ k_w`, clipped to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dGeom {
    pub n: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub padding: Padding,
    pub h_out: usize,
    pub w_out: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

impl Pool2dGeom {
    /// Validates and derives the output size. `input` is `[n, h_in, w_in, c]`,
    /// `pool` is `[k_h, k_w]`, `strides` is `[stride_h, stride_w]` (Keras'
    /// `pool_size`, `strides`, `padding`). Errors name the field, the expected
    /// and the received value. The input must have at most `u32::MAX`
    /// elements (max pooling records argmax indices as `u32`).
    pub fn new(input: [usize; 4], pool: [usize; 2], strides: [usize; 2], padding: Padding) -> Result<Self, KernelError> {
        let [n, h_in, w_in, c] = input;
        let [k_h, k_w] = pool;
        let [stride_h, stride_w] = strides;
        let ctx = || format!("(input [n, h_in, w_in, c] = {input:?}, pool {pool:?}, strides {strides:?}, padding {padding:?})");
        for (name, v) in [
            ("n", n),
            ("h_in", h_in),
            ("w_in", w_in),
            ("c", c),
            ("k_h", k_h),
            ("k_w", k_w),
            ("stride_h", stride_h),
            ("stride_w", stride_w),
        ] {
            if v == 0 {
                return Err(KernelError::geometry(format!("pool2d: {name} must be >= 1, got 0 {}", ctx())));
            }
        }
        let with_ctx = |e: KernelError| KernelError::geometry(format!("{} {}", e.message, ctx()));
        let (h_out, pad_top) = window_out_size("pool2d", "height", h_in, k_h, stride_h, padding).map_err(with_ctx)?;
        let (w_out, pad_left) = window_out_size("pool2d", "width", w_in, k_w, stride_w, padding).map_err(with_ctx)?;
        let x_len = n.checked_mul(h_in).and_then(|v| v.checked_mul(w_in)).and_then(|v| v.checked_mul(c));
        match x_len {
            Some(len) if len <= u32::MAX as usize => {}
            _ => {
                return Err(KernelError::geometry(format!(
                    "pool2d: input elements must be <= {}, got {} {}",
                    u32::MAX,
                    x_len.map_or_else(|| "an overflowing count".to_string(), |l| l.to_string()),
                    ctx()
                )))
            }
        }
        Ok(Self { n, h_in, w_in, c, k_h, k_w, stride_h, stride_w, padding, h_out, w_out, pad_top, pad_left })
    }

    /// Global pooling of `[n, h, w, c]` to `[n, 1, 1, c]` (i.e. `[n, c]`): one
    /// valid window covering the whole plane (GlobalAveragePooling2D).
    pub fn global(input: [usize; 4]) -> Result<Self, KernelError> {
        Self::new(input, [input[1], input[2]], [1, 1], Padding::Valid)
    }

    /// Elements of one input image, `h_in · w_in · c`.
    pub fn x_plane(&self) -> usize {
        self.h_in * self.w_in * self.c
    }
    /// Elements of one output image, `h_out · w_out · c`.
    pub fn y_plane(&self) -> usize {
        self.h_out * self.w_out * self.c
    }
    pub fn x_len(&self) -> usize {
        self.n * self.x_plane()
    }
    pub fn y_len(&self) -> usize {
        self.n * self.y_plane()
    }
}

/// Per-channel normalisation of an NHWC tensor `[n, h, w, c]`, seen as
/// `rows = n · h · w` rows of `c` channels (a dense `[n, c]` input is
/// `h = w = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchNormGeom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    /// `n · h · w`: the number of values each channel's statistics cover.
    pub rows: usize,
}

impl BatchNormGeom {
    /// Validates `input = [n, h, w, c]` (all >= 1, element count fits).
    pub fn new(input: [usize; 4]) -> Result<Self, KernelError> {
        let [n, h, w, c] = input;
        for (name, v) in [("n", n), ("h", h), ("w", w), ("c", c)] {
            if v == 0 {
                return Err(KernelError::geometry(format!(
                    "batchnorm: {name} must be >= 1, got 0 (input [n, h, w, c] = {input:?})"
                )));
            }
        }
        let rows = n.checked_mul(h).and_then(|v| v.checked_mul(w));
        match rows.and_then(|r| r.checked_mul(c)).and_then(|l| l.checked_mul(4)) {
            Some(bytes) if bytes <= isize::MAX as usize => {}
            _ => {
                return Err(KernelError::geometry(format!(
                    "batchnorm: input must fit in memory, got [n, h, w, c] = {input:?}"
                )))
            }
        }
        Ok(Self { n, h, w, c, rows: n * h * w })
    }
    pub fn len(&self) -> usize {
        self.rows * self.c
    }
}

/// Row-wise softmax over `[rows, cols]` (row-major; `cols` are the classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftmaxGeom {
    pub rows: usize,
    pub cols: usize,
}

impl SoftmaxGeom {
    /// Validates sizes (both >= 1, element count fits).
    pub fn new(rows: usize, cols: usize) -> Result<Self, KernelError> {
        for (name, v) in [("rows", rows), ("cols", cols)] {
            if v == 0 {
                return Err(KernelError::geometry(format!("softmax: {name} must be >= 1, got 0 (rows={rows}, cols={cols})")));
            }
        }
        match rows.checked_mul(cols).and_then(|l| l.checked_mul(4)) {
            Some(bytes) if bytes <= isize::MAX as usize => Ok(Self { rows, cols }),
            _ => Err(KernelError::geometry(format!("softmax: input must fit in memory, got rows={rows}, cols={cols}"))),
        }
    }
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
}
