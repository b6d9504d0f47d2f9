//! Geometry structs: sizes of each op, validated once at the entry point.
//! The TypeScript layer computes the same shapes (ts/sdk); tests keep them in
//! agreement.

use crate::error::KernelError;

/// Row-major GEMM `C[m×n] = A[m×k] · B[k×n] (+ bias[n])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmGeom {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl GemmGeom {
    /// Validates sizes (all > 0, element counts fit in the address space).
    pub fn new(m: usize, k: usize, n: usize) -> Result<Self, KernelError> {
        for (name, v) in [("m", m), ("k", k), ("n", n)] {
            if v == 0 {
                return Err(KernelError::geometry(format!("gemm: {name} must be >= 1, got 0 (m={m}, k={k}, n={n})")));
            }
        }
        let g = Self { m, k, n };
        for (name, len) in [("A", m.checked_mul(k)), ("B", k.checked_mul(n)), ("C", m.checked_mul(n))] {
            match len.and_then(|l| l.checked_mul(4)) {
                Some(bytes) if bytes <= isize::MAX as usize => {}
                _ => return Err(KernelError::geometry(format!("gemm: {name} is too large (m={m}, k={k}, n={n})"))),
            }
        }
        Ok(g)
    }
    pub fn a_len(&self) -> usize {
        self.m * self.k
    }
    pub fn b_len(&self) -> usize {
        self.k * self.n
    }
    pub fn c_len(&self) -> usize {
        self.m * self.n
    }
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.k as f64 * self.n as f64
    }
}
