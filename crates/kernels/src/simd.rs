//! A four-lane f32 vector with one SIMD128 implementation (wasm32 with the
//! `simd128` target feature) and a scalar twin for every other target. Kernels
//! are written once against `F32x4`; natively the twin is what `cargo test`
//! runs (LLVM vectorises it), and under wasm the tests exercise SIMD128.
//!
//! Both implementations use a separate multiply and add (never a fused
//! multiply-add), so they round identically, except in the relaxed-SIMD
//! artifacts (built with the `relaxed-simd` target feature, see
//! scripts/build-wasm.mjs): there `mul_add` is `f32x4.relaxed_madd`, which the
//! engine may run as one fused multiply-add (rounded once) or as a multiply and
//! an add, depending on the CPU. One engine on one CPU always picks the same,
//! so results stay deterministic for any thread count within that artifact;
//! they differ from the exact artifacts' in the last bits.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }
        /// Loads `s[0..4]`. Panics in debug builds if `s` is shorter.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            debug_assert!(s.len() >= 4);
            // SAFETY: at least 4 elements; v128_load allows unaligned addresses.
            Self(unsafe { v128_load(s.as_ptr() as *const v128) })
        }
        /// Loads the 4 floats at `p`.
        ///
        /// # Safety
        /// `p..p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load_ptr(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            debug_assert!(s.len() >= 4);
            // SAFETY: as in `load`.
            unsafe { v128_store(s.as_mut_ptr() as *mut v128, self.0) }
        }
        /// Stores the 4 lanes at `p`.
        ///
        /// # Safety
        /// `p..p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store_ptr(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(f32x4_mul(self.0, o.0))
        }
        /// The transpose of the 4 × 4 matrix whose rows are `rows`: lane `j`
        /// of output `i` is lane `i` of input `j` (data movement only).
        #[inline(always)]
        pub fn transpose4(rows: [Self; 4]) -> [Self; 4] {
            let [a, b, c, d] = rows.map(|r| r.0);
            let (ab_lo, ab_hi) = (i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
            let (cd_lo, cd_hi) = (i32x4_shuffle::<0, 4, 1, 5>(c, d), i32x4_shuffle::<2, 6, 3, 7>(c, d));
            [
                Self(i32x4_shuffle::<0, 1, 4, 5>(ab_lo, cd_lo)),
                Self(i32x4_shuffle::<2, 3, 6, 7>(ab_lo, cd_lo)),
                Self(i32x4_shuffle::<0, 1, 4, 5>(ab_hi, cd_hi)),
                Self(i32x4_shuffle::<2, 3, 6, 7>(ab_hi, cd_hi)),
            ]
        }
        /// `self + a * b`, rounded after the multiply and after the add.
        #[cfg(not(target_feature = "relaxed-simd"))]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        /// `self + a * b` as `f32x4.relaxed_madd`: fused (one rounding) where
        /// the CPU has FMA, else like the exact build (see the module doc).
        #[cfg(target_feature = "relaxed-simd")]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_relaxed_madd(a.0, b.0, self.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(f32x4_div(self.0, o.0))
        }
        /// Correctly rounded square root (IEEE 754), like `f32::sqrt`.
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            Self(f32x4_sqrt(self.0))
        }
        /// Per lane `x > 0 ? x : 0` (NaN and -0 give +0).
        #[inline(always)]
        pub fn relu(self) -> Self {
            let zero = f32x4_splat(0.0);
            Self(v128_bitselect(self.0, zero, f32x4_gt(self.0, zero)))
        }
        /// Per lane `mask > 0 ? self : 0`: ReLU's backward read from its
        /// output (NaN in `mask` gives 0).
        #[inline(always)]
        pub fn where_positive(self, mask: Self) -> Self {
            let zero = f32x4_splat(0.0);
            Self(v128_bitselect(self.0, zero, f32x4_gt(mask.0, zero)))
        }
        /// Per lane `x > 0 ? (x < max ? x : max) : 0` (NaN gives 0).
        #[inline(always)]
        pub fn relu_max(self, max: Self) -> Self {
            let zero = f32x4_splat(0.0);
            let capped = v128_bitselect(self.0, max.0, f32x4_lt(self.0, max.0));
            Self(v128_bitselect(capped, zero, f32x4_gt(self.0, zero)))
        }
        /// Per lane `x > self ? x : self`: a running maximum that keeps the
        /// earlier value on ties and NaN (`f32x4.pmax`, one `maxps` on x86).
        #[inline(always)]
        pub fn max_if_greater(self, x: Self) -> Self {
            Self(f32x4_pmax(self.0, x.0))
        }
    }

    /// Four lanes of a running maximum with the index of its first
    /// occurrence: where `x[i] > max[i]`, `max[i] = x[i]` and `at[i] = first
    /// + i`; elsewhere (ties, NaN) both are kept. Each slice holds at least 4.
    #[inline(always)]
    pub fn max_with_index4(max: &mut [f32], at: &mut [u32], x: &[f32], first: u32) {
        assert!(max.len() >= 4 && at.len() >= 4 && x.len() >= 4, "max_with_index4: slices shorter than 4");
        // SAFETY: each slice holds at least 4 elements (asserted); v128
        // loads and stores allow unaligned addresses.
        unsafe {
            let (m, a, v) = (v128_load(max.as_ptr() as *const v128), v128_load(at.as_ptr() as *const v128), v128_load(x.as_ptr() as *const v128));
            let greater = f32x4_gt(v, m);
            let idx = u32x4_add(u32x4_splat(first), u32x4(0, 1, 2, 3));
            v128_store(max.as_mut_ptr() as *mut v128, v128_bitselect(v, m, greater));
            v128_store(at.as_mut_ptr() as *mut v128, v128_bitselect(idx, a, greater));
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            Self([s[0], s[1], s[2], s[3]])
        }
        /// Loads the 4 floats at `p`.
        ///
        /// # Safety
        /// `p..p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load_ptr(p: *const f32) -> Self {
            Self([*p, *p.add(1), *p.add(2), *p.add(3)])
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            s[..4].copy_from_slice(&self.0);
        }
        /// Stores the 4 lanes at `p`.
        ///
        /// # Safety
        /// `p..p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store_ptr(self, p: *mut f32) {
            for (i, v) in self.0.into_iter().enumerate() {
                *p.add(i) = v;
            }
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i] + o.0[i]))
        }
        /// The transpose of the 4 × 4 matrix whose rows are `rows`.
        #[inline(always)]
        pub fn transpose4(rows: [Self; 4]) -> [Self; 4] {
            core::array::from_fn(|i| Self(core::array::from_fn(|j| rows[j].0[i])))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i] * o.0[i]))
        }
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i] - o.0[i]))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(core::array::from_fn(|i| self.0[i] / o.0[i]))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            Self(core::array::from_fn(|i| self.0[i].sqrt()))
        }
        #[inline(always)]
        pub fn relu(self) -> Self {
            Self(core::array::from_fn(|i| if self.0[i] > 0.0 { self.0[i] } else { 0.0 }))
        }
        #[inline(always)]
        pub fn where_positive(self, mask: Self) -> Self {
            Self(core::array::from_fn(|i| if mask.0[i] > 0.0 { self.0[i] } else { 0.0 }))
        }
        #[inline(always)]
        pub fn relu_max(self, max: Self) -> Self {
            Self(core::array::from_fn(|i| {
                let v = self.0[i];
                if v > 0.0 {
                    if v < max.0[i] {
                        v
                    } else {
                        max.0[i]
                    }
                } else {
                    0.0
                }
            }))
        }
        #[inline(always)]
        pub fn max_if_greater(self, x: Self) -> Self {
            Self(core::array::from_fn(|i| if x.0[i] > self.0[i] { x.0[i] } else { self.0[i] }))
        }
    }

    /// See the SIMD128 twin.
    #[inline(always)]
    pub fn max_with_index4(max: &mut [f32], at: &mut [u32], x: &[f32], first: u32) {
        for i in 0..4 {
            if x[i] > max[i] {
                max[i] = x[i];
                at[i] = first + i as u32;
            }
        }
    }
}

pub use imp::{max_with_index4, F32x4};

/// True when this build's `F32x4` is SIMD128 (reported to JS for diagnostics).
pub const SIMD128: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

// The feature and the target feature come together (scripts/build-wasm.mjs).
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd", not(target_feature = "relaxed-simd")))]
compile_error!("the relaxed-simd feature needs -C target-feature=+relaxed-simd for this crate");

/// True when `F32x4::mul_add` is `f32x4.relaxed_madd` (the relaxed-SIMD artifacts).
pub const RELAXED_SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"));
