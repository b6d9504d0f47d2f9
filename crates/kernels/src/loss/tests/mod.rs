//! Loss kernels against the f64 reference (`reference::softmax_cross_entropy`,
//! `reference::binary_cross_entropy`), gradient checks of `dlogits`, correct
//! counts, known values and validation errors.

pub(crate) mod bce;
pub(crate) mod probability_ce;
pub(crate) mod softmax_ce;

/// Asserts the f32 loss is within `1e-6 + 4e-6·|want|` of the reference.
fn assert_loss_close(got: f32, want: f64, ctx: &str) {
    let err = (got as f64 - want).abs();
    assert!(
        got.is_finite() && err <= 1e-6 + 4e-6 * want.abs(),
        "{ctx}: loss {got}, reference {want} (error {err:e})"
    );
}

/// Asserts `|got - want| <= atol` element-wise (and that `got` is finite).
fn assert_close_abs(got: &[f32], want: &[f64], atol: f64, ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(g.is_finite() && err <= atol, "{ctx}: dlogits[{i}]: got {g}, reference {w} (error {err:e} > {atol:e})");
    }
}

fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}
