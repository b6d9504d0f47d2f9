//! `lc_stain_fit` and `lc_stain_normalize`: per-image stain statistics and
//! in-place stain normalization of uint8 RGB images (crate::image::normalize),
//! arguments in one `#[repr(C)]` struct with named fields.

use super::memory::{check_byte_range, check_f32_range, read_struct};
use super::{pool, status};
use crate::error::KernelError;
use crate::image::normalize::{fit_images, normalize_images, StainMethod, StainParams, FIT_ROW, STAIN_PARAMS};
use crate::image::ImageGeom;

/// Arguments of both calls; every field is 4 bytes (u32 or f32).
/// The TypeScript twin is `STAIN_ARGS` in ts/sdk/src/stain/abi.ts.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StainArgs {
    /// `[n, h, w, 3]` u8 images (normalized in place by `lc_stain_normalize`).
    pub images_ptr: u32,
    pub n: u32,
    pub h: u32,
    pub w: u32,
    pub c: u32,
    /// 1 reinhard, 2 macenko.
    pub method: u32,
    /// `lc_stain_fit`: `[n, 9]` f32 rows (parameters, valid flag);
    /// `lc_stain_normalize`: `[n]` u32, 1 for each image left untouched.
    pub out_ptr: u32,
    /// `lc_stain_normalize`'s target parameters (ignored by `lc_stain_fit`).
    pub target: [f32; STAIN_PARAMS],
}

const _: () = assert!(core::mem::size_of::<StainArgs>() == 60);

fn read_args(args_ptr: usize, what: &str) -> Result<(StainArgs, ImageGeom, StainMethod), KernelError> {
    let a: StainArgs = read_struct(args_ptr, &format!("{what}: args"))?;
    let geom = ImageGeom::new(a.n as usize, a.h as usize, a.w as usize, a.c as usize)?;
    let method = StainMethod::from_code(a.method)?;
    check_byte_range(a.images_ptr as usize, geom.len(), &format!("{what}: images"))?;
    Ok((a, geom, method))
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

fn check_out(a: &StainArgs, geom: &ImageGeom, values: usize, what: &str) -> Result<(), KernelError> {
    check_f32_range(a.out_ptr as usize, values, &format!("{what}: out"))?;
    if overlap((a.out_ptr as usize, values * 4), (a.images_ptr as usize, geom.len())) {
        return Err(KernelError::pointer(format!("{what}: out overlaps images")));
    }
    Ok(())
}

/// Writes each image's stain parameters (see `StainArgs.out_ptr`). Returns 0 or an `ErrorCode`.
#[no_mangle]
pub extern "C" fn lc_stain_fit(args_ptr: usize) -> i32 {
    let checked = read_args(args_ptr, "stain_fit").and_then(|(a, g, m)| check_out(&a, &g, g.n * FIT_ROW, "stain_fit").map(|_| (a, g, m)));
    let (a, geom, method) = match checked {
        Ok(v) => v,
        Err(e) => return status(Err(e)),
    };
    // SAFETY: both ranges were checked above and do not overlap.
    let (images, out) = unsafe {
        (
            std::slice::from_raw_parts(a.images_ptr as usize as *const u8, geom.len()),
            std::slice::from_raw_parts_mut(a.out_ptr as usize as *mut f32, geom.n * FIT_ROW),
        )
    };
    status(pool::run(|| fit_images(method, &geom, images, out)).and_then(|r| r))
}

/// Normalizes the images in place towards `target`. Returns 0 or an `ErrorCode`.
#[no_mangle]
pub extern "C" fn lc_stain_normalize(args_ptr: usize) -> i32 {
    let checked = read_args(args_ptr, "stain_normalize").and_then(|(a, g, m)| check_out(&a, &g, g.n, "stain_normalize").map(|_| (a, g, m)));
    let (a, geom, method) = match checked {
        Ok(v) => v,
        Err(e) => return status(Err(e)),
    };
    let target: StainParams = a.target.map(|v| v as f64);
    // SAFETY: both ranges were checked above and do not overlap.
    let (images, untouched) = unsafe {
        (
            std::slice::from_raw_parts_mut(a.images_ptr as usize as *mut u8, geom.len()),
            std::slice::from_raw_parts_mut(a.out_ptr as usize as *mut u32, geom.n),
        )
    };
    status(pool::run(|| normalize_images(method, &target, &geom, images, untouched)).and_then(|r| r))
}
