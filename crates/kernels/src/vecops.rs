//! Element-wise loops over channel vectors, written once against `F32x4` with
//! scalar tails. Each lane does exactly what the scalar tail does (separate
//! multiply and add), so results do not depend on where a vector starts.

use crate::simd::F32x4;

/// `acc[i] += x[i]`.
#[inline]
pub fn add_assign(acc: &mut [f32], x: &[f32]) {
    debug_assert_eq!(acc.len(), x.len());
    let n = acc.len();
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).add(F32x4::load(&x[i..])).store(&mut acc[i..]);
        i += 4;
    }
    for j in i..n {
        acc[j] += x[j];
    }
}

/// `acc[i] *= s`.
#[inline]
pub fn scale_assign(acc: &mut [f32], s: f32) {
    let n = acc.len();
    let sv = F32x4::splat(s);
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).mul(sv).store(&mut acc[i..]);
        i += 4;
    }
    for v in &mut acc[i..] {
        *v *= s;
    }
}

/// `acc[i] += a · x[i]`.
#[inline]
pub fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    debug_assert_eq!(acc.len(), x.len());
    let n = acc.len();
    let av = F32x4::splat(a);
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).mul_add(av, F32x4::load(&x[i..])).store(&mut acc[i..]);
        i += 4;
    }
    for j in i..n {
        acc[j] += a * x[j];
    }
}

/// `out[i] = a · x[i]`.
#[inline]
pub fn scaled_copy(out: &mut [f32], a: f32, x: &[f32]) {
    debug_assert_eq!(out.len(), x.len());
    let n = out.len();
    let av = F32x4::splat(a);
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&x[i..]).mul(av).store(&mut out[i..]);
        i += 4;
    }
    for j in i..n {
        out[j] = a * x[j];
    }
}
