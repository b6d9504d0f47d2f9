//! `ln` and `exp` for the per-pixel colour maps (HED stain jitter), inlined
//! and branch-free. On wasm32, `f32::ln` / `f32::exp` are calls into the
//! software libm (range checks, special cases, table lookups): with six per
//! pixel they made HED jitter the most expensive step of a training batch
//! (~2x the affine warp). These use only f32 adds, multiplies, one divide
//! and bit operations, never a fused multiply-add, so every target and
//! both wasm artifacts (exact and relaxed) round identically.
//!
//! Accuracy (checked in `stain_tests` against f64 over the whole range the
//! stain jitter uses): `ln_pos` within 2e-7 absolute for `x` in `[1e-6, 1]`
//! and a few ulp relative elsewhere; `exp_clamped` within 4 ulp relative.

const LN2_HI: f32 = 0.693_145_75; // ln 2 rounded to 15 significant bits (0x3f317200): k·LN2_HI is exact for |k| < 2^9
const LN2_LO: f32 = 1.428_606_8e-6; // ln 2 - LN2_HI
const LOG2_E: f32 = core::f32::consts::LOG2_E;
const SQRT_2: f32 = core::f32::consts::SQRT_2;

/// Natural logarithm of a positive, normal, finite `x` (callers clamp it
/// away from 0, as the stain jitter's `1e-6` floor does). Writes
/// `x = 2^e·m` with `m` in `[√2/2, √2)` and sums
/// `ln m = 2·atanh(s) = 2(s + s³/3 + … + s⁹/9)`, `s = (m - 1)/(m + 1)`,
/// `|s| <= 0.172` (the next term is below 1e-9).
#[inline(always)]
pub fn ln_pos(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    let ef = e as f32;
    ef * LN2_HI + (2.0 * s * series + ef * LN2_LO)
}

/// `e^x` for any finite `x`, clamped to `[-87, 88]` first (`e^-87` is the
/// smallest normal f32 order; `e^88` the largest). Splits `x = k·ln 2 + r`,
/// `|r| <= ln 2 / 2`, and evaluates `e^r` by its Taylor series to `r⁷/7!`
/// (the next term is below 6e-9 relative).
#[inline(always)]
pub fn exp_clamped(x: f32) -> f32 {
    let x = x.max(-87.0).min(88.0);
    let k = (x * LOG2_E + 0.5).floor();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^k for k in [-126, 127]: the exponent field alone.
    let two_k = f32::from_bits(((k as i32 + 127) as u32) << 23);
    p * two_k
}
