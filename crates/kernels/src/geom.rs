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

/// Spatial padding of a convolution or pooling window.
///
/// - `Valid` (Keras): no padding; `out = floor((in - k) / stride) + 1`, requires `k <= in`.
/// - `Same` (Keras): `out = ceil(in / stride)`; total pad `max((out - 1)·stride + k - in, 0)`,
///   of which `total / 2` goes before (top/left) and the rest, one more when the
///   total is odd, after (bottom/right).
/// - `Explicit` (PyTorch/ONNX `pads`): the given number of zero (or, for max
///   pooling, -inf) cells on each side, possibly asymmetric;
///   `out = floor((in + before + after - k) / stride) + 1`, requires `k <= in + before + after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
    Explicit { top: usize, bottom: usize, left: usize, right: usize },
}

/// The padding of one spatial axis (see `Padding::height` / `Padding::width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisPadding {
    Valid,
    Same,
    Explicit { before: usize, after: usize },
}

impl Padding {
    /// The padding of the height axis (top, bottom).
    pub fn height(self) -> AxisPadding {
        match self {
            Padding::Valid => AxisPadding::Valid,
            Padding::Same => AxisPadding::Same,
            Padding::Explicit { top, bottom, .. } => AxisPadding::Explicit { before: top, after: bottom },
        }
    }
    /// The padding of the width axis (left, right).
    pub fn width(self) -> AxisPadding {
        match self {
            Padding::Valid => AxisPadding::Valid,
            Padding::Same => AxisPadding::Same,
            Padding::Explicit { left, right, .. } => AxisPadding::Explicit { before: left, after: right },
        }
    }
}

/// Output size and padding of one spatial axis of a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisWindow {
    pub out: usize,
    /// Padded cells before the first input cell (top or left).
    pub pad_before: usize,
    /// Padded cells after the last input cell (bottom or right). With
    /// `ceil_mode` the last window may reach past them; those cells are
    /// outside the padded input and never count (PyTorch).
    pub pad_after: usize,
}

/// Output size and padding of one spatial axis: the one place the
/// output-size math lives. `axis` names the axis in error messages.
///
/// `ceil_mode` (PyTorch pooling) rounds the window count up instead of down,
/// `out = ceil((in + before + after - k) / stride) + 1`, then drops the last
/// window if it would start past the input and the leading padding
/// (`(out - 1)·stride >= in + before`), so every window starts inside them.
pub fn window_axis(
    op: &str,
    axis: &str,
    input: usize,
    k: usize,
    stride: usize,
    padding: AxisPadding,
    ceil_mode: bool,
) -> Result<AxisWindow, KernelError> {
    let overflow = || KernelError::geometry(format!("{op}: {axis} overflows (input {input}, kernel {k}, stride {stride}, padding {padding:?})"));
    let (before, after) = match padding {
        AxisPadding::Valid => (0, 0),
        AxisPadding::Explicit { before, after } => (before, after),
        AxisPadding::Same => {
            let out = input.div_ceil(stride);
            let span = (out - 1).checked_mul(stride).and_then(|s| s.checked_add(k)).ok_or_else(overflow)?;
            let total = span.saturating_sub(input);
            (total / 2, total - total / 2)
        }
    };
    let padded = input.checked_add(before).and_then(|v| v.checked_add(after)).ok_or_else(overflow)?;
    if k > padded {
        return Err(KernelError::geometry(match padding {
            AxisPadding::Explicit { .. } => format!(
                "{op}: kernel {axis} {k} is larger than the padded input {axis} {padded} (input {input} + padding {before} + {after}; expected k <= {padded})"
            ),
            _ => format!("{op}: kernel {axis} {k} is larger than the input {axis} {input} with 'valid' padding (expected k <= {input})"),
        }));
    }
    let mut out = if ceil_mode { (padded - k).div_ceil(stride) + 1 } else { (padded - k) / stride + 1 };
    if ceil_mode && (out - 1) * stride >= input + before {
        out -= 1;
    }
    Ok(AxisWindow { out, pad_before: before, pad_after: after })
}

/// `Ok` when every field is >= 1; otherwise an error naming the first zero
/// field and listing all of them (`op: name must be >= 1, got 0 (a=.., b=..)`).
fn require_positive(op: &str, fields: &[(&str, usize)]) -> Result<(), KernelError> {
    match fields.iter().find(|(_, v)| *v == 0) {
        None => Ok(()),
        Some((name, _)) => {
            let all: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
            Err(KernelError::geometry(format!("{op}: {name} must be >= 1, got 0 ({})", all.join(", "))))
        }
    }
}

/// `Ok` when each named f32 tensor of the given dimensions fits in the
/// address space; `geom` is printed in the error.
fn require_fits(op: &str, tensors: &[(&str, [usize; 4])], geom: &dyn core::fmt::Debug) -> Result<(), KernelError> {
    for (name, dims) in tensors {
        let bytes = dims.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d));
        if !bytes.is_some_and(|b| b <= isize::MAX as usize) {
            return Err(KernelError::geometry(format!(
                "{op}: {name} {dims:?} is too large (expected at most {} bytes) for geometry {geom:?}",
                isize::MAX
            )));
        }
    }
    Ok(())
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
        require_positive(
            "conv2d",
            &[
                ("n", n),
                ("h_in", h_in),
                ("w_in", w_in),
                ("c_in", c_in),
                ("c_out", c_out),
                ("k_h", k_h),
                ("k_w", k_w),
                ("stride_h", stride_h),
                ("stride_w", stride_w),
            ],
        )?;
        let rows = window_axis("conv2d", "height", h_in, k_h, stride_h, padding.height(), false)?;
        let cols = window_axis("conv2d", "width", w_in, k_w, stride_w, padding.width(), false)?;
        let (h_out, pad_top, w_out, pad_left) = (rows.out, rows.pad_before, cols.out, cols.pad_before);
        let g = Self { n, h_in, w_in, c_in, c_out, k_h, k_w, stride_h, stride_w, pad_top, pad_left, h_out, w_out };
        require_fits("conv2d", &[("x", [n, h_in, w_in, c_in]), ("w", [k_h, k_w, c_in, c_out]), ("y", [n, h_out, w_out, c_out])], &g)?;
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
    /// Whether every tap of every output pixel falls inside the input (no
    /// padding is read): a patch is then `k_h` runs of `k_w·c_in` floats of
    /// `x`, one input row apart.
    pub fn taps_inside(&self) -> bool {
        self.pad_top == 0
            && self.pad_left == 0
            && (self.h_out - 1) * self.stride_h + self.k_h <= self.h_in
            && (self.w_out - 1) * self.stride_w + self.k_w <= self.w_in
    }
}

/// Depthwise 2-D convolution, NHWC, with the Keras `DepthwiseConv2D` weight
/// layout: each input channel `c` is convolved with its own
/// `depth_multiplier` filters, giving output channels `c·depth_multiplier + m`.
///
/// Layouts (row-major, densely packed):
/// - `x`: `[n, h_in, w_in, c_in]`
/// - `w`: `[k_h, k_w, c_in, depth_multiplier]`, so that the taps of one
///   kernel position are laid out like the output channels
/// - `b`: `[c_out]` with `c_out = c_in·depth_multiplier`
/// - `y`: `[n, h_out, w_out, c_out]`
///
/// `y[n, oh, ow, c·dm + m] = b[c·dm + m] + sum_{kh, kw} x[n, oh·stride_h + kh -
/// pad_top, ow·stride_w + kw - pad_left, c] · w[kh, kw, c, m]`, with
/// out-of-range `x` reading as zero (dilation 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseGeom {
    pub n: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c_in: usize,
    pub depth_multiplier: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub h_out: usize,
    pub w_out: usize,
}

impl DepthwiseGeom {
    /// Validates sizes (all >= 1, kernel within the padded input, element
    /// counts that fit in the address space) and derives the output size and
    /// padding, as `Conv2dGeom::new` does.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n: usize,
        h_in: usize,
        w_in: usize,
        c_in: usize,
        depth_multiplier: usize,
        k_h: usize,
        k_w: usize,
        stride_h: usize,
        stride_w: usize,
        padding: Padding,
    ) -> Result<Self, KernelError> {
        const OP: &str = "depthwise";
        require_positive(
            OP,
            &[
                ("n", n),
                ("h_in", h_in),
                ("w_in", w_in),
                ("c_in", c_in),
                ("depth_multiplier", depth_multiplier),
                ("k_h", k_h),
                ("k_w", k_w),
                ("stride_h", stride_h),
                ("stride_w", stride_w),
            ],
        )?;
        let rows = window_axis(OP, "height", h_in, k_h, stride_h, padding.height(), false)?;
        let cols = window_axis(OP, "width", w_in, k_w, stride_w, padding.width(), false)?;
        let g = Self {
            n,
            h_in,
            w_in,
            c_in,
            depth_multiplier,
            k_h,
            k_w,
            stride_h,
            stride_w,
            pad_top: rows.pad_before,
            pad_left: cols.pad_before,
            h_out: rows.out,
            w_out: cols.out,
        };
        let c_out = c_in.checked_mul(depth_multiplier).ok_or_else(|| {
            KernelError::geometry(format!("{OP}: c_in·depth_multiplier overflows ({c_in}·{depth_multiplier})"))
        })?;
        require_fits(OP, &[("x", [n, h_in, w_in, c_in]), ("w", [k_h, k_w, c_in, depth_multiplier]), ("y", [n, g.h_out, g.w_out, c_out])], &g)?;
        Ok(g)
    }
    /// Output channels, `c_in·depth_multiplier`.
    pub fn c_out(&self) -> usize {
        self.c_in * self.depth_multiplier
    }
    /// `n·h_in·w_in·c_in`
    pub fn x_len(&self) -> usize {
        self.n * self.h_in * self.w_in * self.c_in
    }
    /// `k_h·k_w·c_out`
    pub fn w_len(&self) -> usize {
        self.k_h * self.k_w * self.c_out()
    }
    /// `n·h_out·w_out·c_out`
    pub fn y_len(&self) -> usize {
        self.out_pixels() * self.c_out()
    }
    /// Output pixels over the batch, `n·h_out·w_out`.
    pub fn out_pixels(&self) -> usize {
        self.n * self.h_out * self.w_out
    }
    /// Multiply-adds of the forward pass (and of each backward pass), padding taps included.
    pub fn macs(&self) -> f64 {
        self.y_len() as f64 * (self.k_h * self.k_w) as f64
    }
}

/// Pooling options beyond Keras' (PyTorch's `ceil_mode` and
/// `count_include_pad`). `PoolOptions::default()` is Keras: floor mode,
/// padding excluded from averages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolOptions {
    /// Round the number of windows up (see `window_axis`): the last window may
    /// reach past the input and its padding, whose cells never count.
    pub ceil_mode: bool,
    /// Average pooling divides by the number of window cells inside the
    /// padded input, padding included (PyTorch's default), instead of by the
    /// number of input cells (TensorFlow/Keras). Max pooling ignores it.
    pub count_include_pad: bool,
}

/// 2-D pooling over an NHWC tensor: input `[n, h_in, w_in, c]`, window
/// `k_h × k_w` moved by `stride_h × stride_w`, output `[n, h_out, w_out, c]`.
/// Output `(oh, ow)` covers input rows `oh·stride_h - pad_top ..+ k_h` and
/// columns `ow·stride_w - pad_left ..+ k_w`, clipped to the input (max pooling
/// pads with -inf, so padding never wins). Average pooling divides the sum of
/// the input cells by their count, or with `count_include_pad` by the number
/// of window cells within rows `-pad_top .. h_in + pad_bottom` and columns
/// `-pad_left .. w_in + pad_right`.
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
    pub options: PoolOptions,
    pub h_out: usize,
    pub w_out: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub pad_bottom: usize,
    pub pad_right: usize,
}

impl Pool2dGeom {
    /// Keras pooling (`PoolOptions::default()`); see `with_options`.
    pub fn new(input: [usize; 4], pool: [usize; 2], strides: [usize; 2], padding: Padding) -> Result<Self, KernelError> {
        Self::with_options(input, pool, strides, padding, PoolOptions::default())
    }

    /// Validates and derives the output size. `input` is `[n, h_in, w_in, c]`,
    /// `pool` is `[k_h, k_w]`, `strides` is `[stride_h, stride_w]` (Keras'
    /// `pool_size`, `strides`, `padding`). Explicit pads must be smaller than
    /// the pool size on their axis (PyTorch asks for at most half), so no
    /// window is all padding. Errors name the field, the expected and the
    /// received value. The input must have at most `u32::MAX` elements (max
    /// pooling records argmax indices as `u32`).
    pub fn with_options(
        input: [usize; 4],
        pool: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        options: PoolOptions,
    ) -> Result<Self, KernelError> {
        let [n, h_in, w_in, c] = input;
        let [k_h, k_w] = pool;
        let [stride_h, stride_w] = strides;
        let ctx = || {
            format!("(input [n, h_in, w_in, c] = {input:?}, pool {pool:?}, strides {strides:?}, padding {padding:?}, {options:?})")
        };
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
        if let Padding::Explicit { top, bottom, left, right } = padding {
            // A pad as large as the window would allow windows with no input cell.
            for (name, pad, k) in [("top", top, k_h), ("bottom", bottom, k_h), ("left", left, k_w), ("right", right, k_w)] {
                if pad >= k {
                    return Err(KernelError::geometry(format!(
                        "pool2d: padding {name} must be smaller than the pool size ({k}), got {pad} {}",
                        ctx()
                    )));
                }
            }
        }
        let with_ctx = |e: KernelError| KernelError::geometry(format!("{} {}", e.message, ctx()));
        let rows = window_axis("pool2d", "height", h_in, k_h, stride_h, padding.height(), options.ceil_mode).map_err(with_ctx)?;
        let cols = window_axis("pool2d", "width", w_in, k_w, stride_w, padding.width(), options.ceil_mode).map_err(with_ctx)?;
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
        Ok(Self {
            n,
            h_in,
            w_in,
            c,
            k_h,
            k_w,
            stride_h,
            stride_w,
            padding,
            options,
            h_out: rows.out,
            w_out: cols.out,
            pad_top: rows.pad_before,
            pad_left: cols.pad_before,
            pad_bottom: rows.pad_after,
            pad_right: cols.pad_after,
        })
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

/// Zero padding of an NHWC tensor (Keras `ZeroPadding2D`, PyTorch
/// `ZeroPad2d`): input `[n, h_in, w_in, c]`, output `[n, h_out, w_out, c]`
/// with `h_out = top + h_in + bottom` and `w_out = left + w_in + right`;
/// `y[i, top + h, left + w, ch] = x[i, h, w, ch]`, every other `y` element 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad2dGeom {
    pub n: usize,
    pub h_in: usize,
    pub w_in: usize,
    pub c: usize,
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
    pub h_out: usize,
    pub w_out: usize,
}

impl Pad2dGeom {
    /// Validates `input = [n, h_in, w_in, c]` (all >= 1) and
    /// `pads = [[top, bottom], [left, right]]` (Keras' `padding`; any >= 0),
    /// and that the output fits in memory.
    pub fn new(input: [usize; 4], pads: [[usize; 2]; 2]) -> Result<Self, KernelError> {
        let [n, h_in, w_in, c] = input;
        let [[top, bottom], [left, right]] = pads;
        require_positive("pad2d", &[("n", n), ("h_in", h_in), ("w_in", w_in), ("c", c)])?;
        let overflow = || KernelError::geometry(format!("pad2d: output size overflows (input {input:?}, pads {pads:?})"));
        let h_out = h_in.checked_add(top).and_then(|v| v.checked_add(bottom)).ok_or_else(overflow)?;
        let w_out = w_in.checked_add(left).and_then(|v| v.checked_add(right)).ok_or_else(overflow)?;
        let g = Self { n, h_in, w_in, c, top, bottom, left, right, h_out, w_out };
        require_fits("pad2d", &[("x", input), ("y", [n, h_out, w_out, c])], &g)?;
        Ok(g)
    }
    pub fn x_len(&self) -> usize {
        self.n * self.h_in * self.w_in * self.c
    }
    pub fn y_len(&self) -> usize {
        self.n * self.h_out * self.w_out * self.c
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
