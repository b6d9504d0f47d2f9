//! AveragePool2D and GlobalAveragePooling2D:
//! `y(i, oh, ow, ch) = (1/divisor) · sum over the window of x(i, h, w, ch)`,
//! where the sum covers the input cells of the (clipped) window and the
//! divisor counts them (TensorFlow), or with `count_include_pad` counts the
//! window cells inside the padded input (PyTorch); see `Pool2dGeom`.
//!
//! The sum runs in window scan order from the first cell and is then
//! multiplied by `1/divisor` (rounded to f32); the backward pass adds
//! `dy · (1/divisor)` to every input cell of the window, output by output.

use super::{for_each_dx_image, for_each_out_row, Window};
use crate::geom::Pool2dGeom;
use crate::vecops;

/// Forward. `x`: `[n, h_in, w_in, c]`; `y`: `[n, h_out, w_out, c]`, fully overwritten.
pub fn avgpool2d_fwd(g: &Pool2dGeom, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "avgpool2d_fwd {g:?}: x");
    debug_assert_eq!(y.len(), g.y_len(), "avgpool2d_fwd {g:?}: y");
    let (c, xp) = (g.c, g.x_plane());
    for_each_out_row(g, y, |img, oh, y_row| {
        let x_img = &x[img * xp..(img + 1) * xp];
        for (ow, y_px) in y_row.chunks_mut(c).enumerate() {
            let win = Window::of(g, oh, ow);
            let mut cells = win.cells(g);
            let first = cells.next().unwrap_or(0);
            y_px.copy_from_slice(&x_img[first..first + c]);
            for off in cells {
                vecops::add_assign(y_px, &x_img[off..off + c]);
            }
            vecops::scale_assign(y_px, 1.0 / win.divisor as f32);
        }
    });
}

/// Backward: `dx(i, h, w, ch) = sum over the windows containing (h, w) of
/// dy(i, oh, ow, ch) / count(oh, ow)`. `dy`: `[n, h_out, w_out, c]`;
/// `dx`: `[n, h_in, w_in, c]`, fully overwritten.
pub fn avgpool2d_bwd(g: &Pool2dGeom, dy: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), g.y_len(), "avgpool2d_bwd {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "avgpool2d_bwd {g:?}: dx");
    let (c, yp) = (g.c, g.y_plane());
    for_each_dx_image(g, dx, |img, dx_img| {
        let dy_img = &dy[img * yp..(img + 1) * yp];
        for oh in 0..g.h_out {
            for ow in 0..g.w_out {
                let win = Window::of(g, oh, ow);
                let dy_px = &dy_img[(oh * g.w_out + ow) * c..][..c];
                let inv = 1.0 / win.divisor as f32;
                for off in win.cells(g) {
                    vecops::axpy(&mut dx_img[off..off + c], inv, dy_px);
                }
            }
        }
    });
}

/// GlobalAveragePooling2D forward: `y(i, ch) = mean over (h, w) of x(i, h, w, ch)`.
/// `g` must come from `Pool2dGeom::global`; `x`: `[n, h, w, c]`; `y`: `[n, c]`.
/// Same arithmetic as `avgpool2d_fwd` with one window per image.
pub fn global_avgpool2d_fwd(g: &Pool2dGeom, x: &[f32], y: &mut [f32]) {
    debug_assert!(g.h_out == 1 && g.w_out == 1 && g.k_h == g.h_in && g.k_w == g.w_in, "global_avgpool2d_fwd {g:?}: not global");
    avgpool2d_fwd(g, x, y);
}

/// GlobalAveragePooling2D backward: `dx(i, h, w, ch) = dy(i, ch) / (h·w)`.
/// `g` from `Pool2dGeom::global`; `dy`: `[n, c]`; `dx`: `[n, h, w, c]`, fully overwritten.
pub fn global_avgpool2d_bwd(g: &Pool2dGeom, dy: &[f32], dx: &mut [f32]) {
    debug_assert!(g.h_out == 1 && g.w_out == 1 && g.k_h == g.h_in && g.k_w == g.w_in, "global_avgpool2d_bwd {g:?}: not global");
    // Each input lies in exactly one window, so this writes `0 + dy·(1/(h·w))`.
    avgpool2d_bwd(g, dy, dx);
}
