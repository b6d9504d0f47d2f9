//! Naive reference implementations: the specification of every kernel and the
//! oracle its tests compare against. Accumulate in f64 so the reference is more
//! accurate than the kernel under test; tests bound the kernel's error.

/// `C = A·B (+ bias)`, row-major, computed in f64.
pub fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += a[i * k + p] as f64 * b[p * n + j] as f64;
            }
            c[i * n + j] = s + bias.map_or(0.0, |bias| bias[j] as f64);
        }
    }
    c
}

/// For each output of a dot-product kernel, `sum |a_p · b_p|` (plus `|bias|`):
/// the scale against which f32 rounding error is bounded.
pub fn gemm_abs(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
    let abs_a: Vec<f32> = a.iter().map(|x| x.abs()).collect();
    let abs_b: Vec<f32> = b.iter().map(|x| x.abs()).collect();
    let abs_bias: Option<Vec<f32>> = bias.map(|v| v.iter().map(|x| x.abs()).collect());
    gemm(m, k, n, &abs_a, &abs_b, abs_bias.as_deref())
}
