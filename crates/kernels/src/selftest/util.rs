//! Helpers shared by kernel tests: a small deterministic generator, NaN-filled
//! outputs (so an element a kernel forgot to write fails), and error bounds.

/// xorshift64* — only for test data; the library's PRNG lives elsewhere.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.uniform()).collect()
    }
}

pub fn nan_filled(len: usize) -> Vec<f32> {
    vec![f32::NAN; len]
}

/// Asserts `|got - want| <= bound(scale)` element-wise, where the bound is the
/// standard worst-case rounding bound of an f32 dot product of length `terms`
/// accumulated in order: `(terms + 1) · eps · sum|a·b|` (`scale` holds the
/// latter per element). `context` names the shape in the failure message.
pub fn assert_dot_close(got: &[f32], want: &[f64], scale: &[f64], terms: usize, context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: output length");
    let eps = f32::EPSILON as f64;
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let bound = (terms as f64 + 1.0) * eps * s + f64::MIN_POSITIVE;
        let err = (g as f64 - w).abs();
        assert!(
            err <= bound,
            "{context}: element {i}: got {g}, want {w} (error {err:e} > bound {bound:e})"
        );
    }
}

/// Asserts two f32 slices are identical bit for bit.
pub fn assert_bits_eq(a: &[f32], b: &[f32], context: &str) {
    assert_eq!(a.len(), b.len(), "{context}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(x.to_bits() == y.to_bits(), "{context}: element {i} differs: {x} vs {y}");
    }
}

/// Asserts `|got - want| <= atol + rtol · |want|` element-wise (for kernels
/// whose error is not a plain dot-product bound: normalisation, exp, ...).
pub fn assert_close(got: &[f32], want: &[f64], rtol: f64, atol: f64, context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: output length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            g.is_finite() && err <= atol + rtol * w.abs(),
            "{context}: element {i}: got {g}, want {w} (error {err:e} > {atol:e} + {rtol:e}·|want|)"
        );
    }
}

/// The message of a rejected geometry, after checking it is an
/// `InvalidGeometry` error; panics if `result` is a geometry. `what` names
/// the attempted shape in failure messages.
pub fn geometry_error<G: core::fmt::Debug>(result: Result<G, crate::error::KernelError>, what: &dyn core::fmt::Debug) -> String {
    match result {
        Ok(g) => panic!("{what:?}: accepted as {g:?}"),
        Err(e) => {
            assert_eq!(e.code, crate::error::ErrorCode::InvalidGeometry, "{what:?}: {e}");
            e.message
        }
    }
}
