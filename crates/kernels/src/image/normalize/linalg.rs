//! Small dense helpers of the stain normalizers, in f64: a symmetric 3×3
//! eigendecomposition (cyclic Jacobi: a fixed sequence of rotations, so the
//! result is deterministic) and numpy's default (linear) percentile.

pub type Mat3 = [[f64; 3]; 3];

/// Eigenvalues in ascending order and the matching unit eigenvectors
/// (`vecs[j]` belongs to `vals[j]`), each with a non-negative component sum so
/// that the sign is fixed.
pub fn symmetric_eigen3(a: &Mat3) -> ([f64; 3], [[f64; 3]; 3]) {
    let mut m = *a;
    let mut v: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _sweep in 0..64 {
        let off = m[0][1].abs() + m[0][2].abs() + m[1][2].abs();
        let scale = m[0][0].abs() + m[1][1].abs() + m[2][2].abs();
        if off <= 1e-15 * scale || off == 0.0 {
            break;
        }
        for (p, q) in [(0usize, 1usize), (0, 2), (1, 2)] {
            if m[p][q] == 0.0 {
                continue;
            }
            // The rotation that zeroes m[p][q] (Golub & Van Loan, sym.schur2).
            let tau = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
            let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
            let c = 1.0 / (1.0 + t * t).sqrt();
            let s = t * c;
            for k in 0..3 {
                let (mkp, mkq) = (m[k][p], m[k][q]);
                m[k][p] = c * mkp - s * mkq;
                m[k][q] = s * mkp + c * mkq;
            }
            for k in 0..3 {
                let (mpk, mqk) = (m[p][k], m[q][k]);
                m[p][k] = c * mpk - s * mqk;
                m[q][k] = s * mpk + c * mqk;
            }
            for row in v.iter_mut() {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    let mut order = [0usize, 1, 2];
    order.sort_by(|&i, &j| m[i][i].total_cmp(&m[j][j]));
    let vals = order.map(|j| m[j][j]);
    let vecs = order.map(|j| {
        let col = [v[0][j], v[1][j], v[2][j]];
        if col.iter().sum::<f64>() < 0.0 {
            col.map(|x| -x)
        } else {
            col
        }
    });
    (vals, vecs)
}

/// numpy's `percentile(values, p)` with linear interpolation, on values
/// already sorted ascending (`p` in `[0, 100]`, `sorted` non-empty).
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (rank - lo as f64) * (sorted[hi] - sorted[lo])
}

/// `percentile_sorted` of `values` (sorted in place) at each of `ps`.
pub fn percentiles(values: &mut [f64], ps: &[f64]) -> Vec<f64> {
    values.sort_unstable_by(f64::total_cmp);
    ps.iter().map(|&p| percentile_sorted(values, p)).collect()
}

/// `m · x`.
pub fn mat_vec(m: &Mat3, x: &[f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * x[0] + m[i][1] * x[1] + m[i][2] * x[2])
}

/// The inverse of a 3×3 matrix (by cofactors; the callers' matrices are fixed and well conditioned).
pub fn inverse3(m: &Mat3) -> Mat3 {
    let cof = |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let adj = [
        [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
        [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
        [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
    ];
    let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
    adj.map(|row| row.map(|v| v / det))
}
