//! MaxPool2D: `y(i, oh, ow, ch) = max over the window of x(i, h, w, ch)`.
//!
//! The gradient of each output goes to one input: the first maximum of its
//! window in scan order (strict `>` while scanning, so ties keep the earlier
//! cell). NaN inputs give deterministic but unspecified results.

use super::{for_each_dx_image, for_each_out_row, for_each_out_row_pair, Window};
use crate::geom::Pool2dGeom;
use crate::simd::{max_with_index4, F32x4};

/// Forward. `x`: `[n, h_in, w_in, c]`; `y`: `[n, h_out, w_out, c]`, fully
/// overwritten. If `argmax` (same layout and length as `y`) is given, each
/// element receives the flat index into `x` of the input that produced it, for
/// `maxpool2d_bwd`.
pub fn maxpool2d_fwd(g: &Pool2dGeom, x: &[f32], y: &mut [f32], argmax: Option<&mut [u32]>) {
    debug_assert_eq!(x.len(), g.x_len(), "maxpool2d_fwd {g:?}: x");
    debug_assert_eq!(y.len(), g.y_len(), "maxpool2d_fwd {g:?}: y");
    match argmax {
        None => for_each_out_row(g, y, |img, oh, y_row| max_row::<false>(g, x, img, oh, y_row, &mut [])),
        Some(argmax) => {
            debug_assert_eq!(argmax.len(), g.y_len(), "maxpool2d_fwd {g:?}: argmax");
            for_each_out_row_pair(g, y, argmax, |img, oh, y_row, a_row| max_row::<true>(g, x, img, oh, y_row, a_row));
        }
    }
}

/// Backward from recorded indices: `dx[argmax[j]] += dy[j]` for every output
/// `j` (in output order); every other `dx` element is zero. `argmax` is the
/// buffer `maxpool2d_fwd` filled; indices outside `x`'s image are ignored.
/// `dy`: `[n, h_out, w_out, c]`; `dx`: `[n, h_in, w_in, c]`, fully overwritten.
pub fn maxpool2d_bwd(g: &Pool2dGeom, argmax: &[u32], dy: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(argmax.len(), g.y_len(), "maxpool2d_bwd {g:?}: argmax");
    debug_assert_eq!(dy.len(), g.y_len(), "maxpool2d_bwd {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "maxpool2d_bwd {g:?}: dx");
    let (xp, yp) = (g.x_plane(), g.y_plane());
    for_each_dx_image(g, dx, |img, dx_img| {
        let base = img * xp;
        let out = img * yp..(img + 1) * yp;
        for (&idx, &d) in argmax[out.clone()].iter().zip(&dy[out]) {
            let local = (idx as usize).wrapping_sub(base);
            debug_assert!(local < xp, "maxpool2d_bwd {g:?}: argmax {idx} outside image {img}");
            if let Some(t) = dx_img.get_mut(local) {
                *t += d;
            }
        }
    });
}

/// Backward without recorded indices: finds each window's first maximum in
/// `x` again (same scan as the forward pass), then scatters as `maxpool2d_bwd`.
pub fn maxpool2d_bwd_from_input(g: &Pool2dGeom, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "maxpool2d_bwd_from_input {g:?}: x");
    debug_assert_eq!(dy.len(), g.y_len(), "maxpool2d_bwd_from_input {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "maxpool2d_bwd_from_input {g:?}: dx");
    let (xp, yp, c) = (g.x_plane(), g.y_plane(), g.c);
    for_each_dx_image(g, dx, |img, dx_img| {
        let x_img = &x[img * xp..(img + 1) * xp];
        let dy_img = &dy[img * yp..(img + 1) * yp];
        for oh in 0..g.h_out {
            for ow in 0..g.w_out {
                let win = Window::of(g, oh, ow);
                let dy_px = &dy_img[(oh * g.w_out + ow) * c..][..c];
                for (ch, &d) in dy_px.iter().enumerate() {
                    let mut cells = win.cells(g);
                    let first = cells.next().unwrap_or(0) + ch;
                    let best = cells.fold(first, |best, off| if x_img[off + ch] > x_img[best] { off + ch } else { best });
                    dx_img[best] += d;
                }
            }
        }
    });
}

/// One output row: for each pixel, start from the window's first cell and
/// keep strictly greater values (and, when `TRACK`, their flat indices).
#[inline(always)]
fn max_row<const TRACK: bool>(g: &Pool2dGeom, x: &[f32], img: usize, oh: usize, y_row: &mut [f32], a_row: &mut [u32]) {
    let c = g.c;
    let base = img * g.x_plane();
    let x_img = &x[base..base + g.x_plane()];
    for ow in 0..g.w_out {
        let mut cells = Window::of(g, oh, ow).cells(g);
        let y_px = &mut y_row[ow * c..(ow + 1) * c];
        let first = cells.next().unwrap_or(0);
        y_px.copy_from_slice(&x_img[first..first + c]);
        if TRACK {
            for (ch, a) in a_row[ow * c..(ow + 1) * c].iter_mut().enumerate() {
                *a = (base + first + ch) as u32;
            }
        }
        for off in cells {
            let x_px = &x_img[off..off + c];
            if TRACK {
                max_and_index_into(y_px, &mut a_row[ow * c..(ow + 1) * c], x_px, base + off);
            } else {
                max_into(y_px, x_px);
            }
        }
    }
}

/// `y[ch] = x[ch]` where `x[ch] > y[ch]`, four channels per vector: the same
/// strict comparison as the tracking scan, so ties and NaN keep `y`.
#[inline(always)]
fn max_into(y: &mut [f32], x: &[f32]) {
    let c = y.len();
    let mut ch = 0;
    while ch + 4 <= c {
        F32x4::load(&y[ch..]).max_if_greater(F32x4::load(&x[ch..])).store(&mut y[ch..]);
        ch += 4;
    }
    for (yv, &xv) in y[ch..].iter_mut().zip(&x[ch..c]) {
        if xv > *yv {
            *yv = xv;
        }
    }
}

/// `max_into` that also sets `at[ch] = first + ch` where it takes `x[ch]`.
#[inline(always)]
fn max_and_index_into(y: &mut [f32], at: &mut [u32], x: &[f32], first: usize) {
    let c = y.len();
    let mut ch = 0;
    while ch + 4 <= c {
        max_with_index4(&mut y[ch..], &mut at[ch..], &x[ch..], (first + ch) as u32);
        ch += 4;
    }
    for ch in ch..c {
        if x[ch] > y[ch] {
            y[ch] = x[ch];
            at[ch] = (first + ch) as u32;
        }
    }
}
