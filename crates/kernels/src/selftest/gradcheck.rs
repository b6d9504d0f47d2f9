//! Numerical gradient checks.
//!
//! A backward kernel (f32) is checked against central differences of the f64
//! reference forward: project the output to a scalar with a fixed random
//! tensor `r` (`L = sum(y · r)`), perturb each input element by `±h`, and
//! compare `(L(x+h) - L(x-h)) / 2h` with the analytic gradient of `L`, which
//! is the backward kernel fed with `dy = r`. In f64 with `h = 1e-6` the
//! numerical side is accurate to ~1e-9, so the tolerance measures the f32
//! kernel, not the check. Keep inputs away from ReLU kinks and max-pool ties.

/// `L = sum(y · r)` in f64.
pub fn project(y: &[f64], r: &[f32]) -> f64 {
    assert_eq!(y.len(), r.len(), "project: output and projection lengths");
    y.iter().zip(r).map(|(a, &b)| a * b as f64).sum()
}

/// Central-difference gradient of `f` at `x`.
pub fn numeric_grad(x: &[f32], h: f64, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    (0..xd.len())
        .map(|i| {
            let orig = xd[i];
            xd[i] = orig + h;
            let plus = f(&xd);
            xd[i] = orig - h;
            let minus = f(&xd);
            xd[i] = orig;
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// Asserts `|analytic - numeric| <= atol + rtol · |numeric|` element-wise.
pub fn assert_grad_close(analytic: &[f32], numeric: &[f64], rtol: f64, atol: f64, context: &str) {
    assert_eq!(analytic.len(), numeric.len(), "{context}: gradient lengths");
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let err = (a as f64 - n).abs();
        assert!(
            a.is_finite() && err <= atol + rtol * n.abs(),
            "{context}: gradient element {i}: analytic {a}, numeric {n} (error {err:e})"
        );
    }
}
