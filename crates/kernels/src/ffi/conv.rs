//! `lc_conv2d`: one convolution pass on buffers in linear memory. The executor
//! runs its convolutions itself; this entry point lets the per-kernel benchmark
//! (benches/conv.mjs) time each pass of one layer shape in isolation.

use super::memory::{check_disjoint, check_f32_range, f32_slice, f32_slice_mut, read_struct};
use super::{pool, status};
use crate::conv2d::{conv2d_bwd_input, conv2d_bwd_weight, conv2d_fwd, conv2d_fwd_by, fwd_by_scratch_len, FwdPath, TileSize};
use crate::error::KernelError;
use crate::geom::{Conv2dGeom, Padding};

/// The geometry as JS writes it: 13 u32 in this order.
#[repr(C)]
#[derive(Clone, Copy)]
struct Conv2dArgs {
    n: u32,
    h_in: u32,
    w_in: u32,
    c_in: u32,
    c_out: u32,
    k_h: u32,
    k_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_top: u32,
    pad_bottom: u32,
    pad_left: u32,
    pad_right: u32,
}

fn read_geom(geom_ptr: usize) -> Result<Conv2dGeom, KernelError> {
    let a: Conv2dArgs = read_struct(geom_ptr, "conv2d: geometry")?;
    let u = |v: u32| v as usize;
    let padding = Padding::Explicit { top: u(a.pad_top), bottom: u(a.pad_bottom), left: u(a.pad_left), right: u(a.pad_right) };
    Conv2dGeom::new(u(a.n), u(a.h_in), u(a.w_in), u(a.c_in), u(a.c_out), u(a.k_h), u(a.k_w), u(a.stride_h), u(a.stride_w), padding)
}

/// Scratch elements `lc_conv2d` needs for this geometry; 0 when it is invalid
/// (the error is then readable through `lc_last_error_*`).
#[no_mangle]
pub extern "C" fn lc_conv2d_scratch_len(geom_ptr: usize) -> usize {
    match read_geom(geom_ptr) {
        Ok(g) => scratch_len(&g),
        Err(e) => {
            super::fail(e);
            0
        }
    }
}

/// The forward paths of passes 3, 4 and 5.
const FORCED: [FwdPath; 3] = [FwdPath::Im2col, FwdPath::Winograd(TileSize::F2), FwdPath::Winograd(TileSize::F4)];

/// Scratch for every pass of `g`, including the forced forward paths.
fn scratch_len(g: &Conv2dGeom) -> usize {
    FORCED.iter().map(|&p| fwd_by_scratch_len(g, p).unwrap_or(0)).fold(g.im2col_scratch_len(), usize::max).max(1)
}

/// One pass of the convolution whose geometry `geom_ptr` holds:
/// - `pass = 0`, forward: `out = y` from `a = x`, `b = w` (no bias);
/// - `pass = 1`, input gradient: `out = dx` from `a = w`, `b = dy`;
/// - `pass = 2`, weight and bias gradients: `out = dw` from `a = x`, `b = dy`;
/// - `pass = 3`, `4` and `5`, the forward by im2col + GEMM, by Winograd
///   F(2×2, 3×3) or by Winograd F(4×4, 3×3) whatever the dispatch chooses
///   (benches/conv.mjs compares them; 4 and 5 need a 3×3 stride-1 geometry).
///
/// `scratch` holds `lc_conv2d_scratch_len(geom_ptr)` floats. Returns 0 or an
/// `ErrorCode` (message via `lc_last_error_*`).
#[no_mangle]
pub extern "C" fn lc_conv2d(pass: u32, geom_ptr: usize, a_ptr: usize, b_ptr: usize, out_ptr: usize, scratch_ptr: usize) -> i32 {
    let checked = (|| {
        let g = read_geom(geom_ptr)?;
        let (a_len, b_len, out_len) = match pass {
            0 | 3 => (g.x_len(), g.w_len(), g.y_len()),
            4 | 5 if fwd_by_scratch_len(&g, FORCED[pass as usize - 3]).is_none() => {
                return Err(KernelError::value(format!("conv2d: pass {pass} (Winograd) needs a 3x3 stride-1 geometry, got {g:?}")))
            }
            4 | 5 => (g.x_len(), g.w_len(), g.y_len()),
            1 => (g.w_len(), g.y_len(), g.x_len()),
            2 => (g.x_len(), g.y_len(), g.w_len()),
            _ => return Err(KernelError::value(format!("conv2d: pass must be 0 to 5, got {pass}"))),
        };
        let scratch_len = scratch_len(&g);
        check_f32_range(a_ptr, a_len, "conv2d: a")?;
        check_f32_range(b_ptr, b_len, "conv2d: b")?;
        check_f32_range(out_ptr, out_len, "conv2d: out")?;
        check_f32_range(scratch_ptr, scratch_len, "conv2d: scratch")?;
        for (input, name) in [((a_ptr, a_len), "a"), ((b_ptr, b_len), "b"), ((scratch_ptr, scratch_len), "scratch")] {
            check_disjoint((out_ptr, out_len), input, &format!("conv2d: out and {name}"))?;
        }
        check_disjoint((scratch_ptr, scratch_len), (a_ptr, a_len), "conv2d: scratch and a")?;
        check_disjoint((scratch_ptr, scratch_len), (b_ptr, b_len), "conv2d: scratch and b")?;
        Ok((g, a_len, b_len, out_len, scratch_len))
    })();
    let (g, a_len, b_len, out_len, scratch_len) = match checked {
        Ok(v) => v,
        Err(e) => return status(Err(e)),
    };
    // SAFETY: every range was checked above; out and scratch overlap nothing else.
    let (a, b, out, scratch) =
        unsafe { (f32_slice(a_ptr, a_len), f32_slice(b_ptr, b_len), f32_slice_mut(out_ptr, out_len), f32_slice_mut(scratch_ptr, scratch_len)) };
    status(pool::run(|| match pass {
        0 => conv2d_fwd(&g, a, b, None, out, scratch),
        1 => conv2d_bwd_input(&g, a, b, out, scratch),
        2 => conv2d_bwd_weight(&g, a, b, out, None, scratch),
        _ => _ = conv2d_fwd_by(&g, FORCED[pass as usize - 3], a, b, None, out, scratch),
    }))
}
