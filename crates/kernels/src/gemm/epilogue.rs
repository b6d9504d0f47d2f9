//! What the GEMM does to each output element after its sum: add the column's
//! bias, then optionally clamp it like ReLU or bounded ReLU. Fused inference
//! (exec/fusion.rs) folds a BatchNorm into a convolution's weights and bias and
//! runs the following ReLU here, so the activation never takes a separate
//! pass over memory.
//!
//! The clamps compute exactly what `activation::relu_fwd` and
//! `activation::relu_max_fwd` compute (`x > 0 ? x : 0`, NaN giving 0), so a
//! GEMM with a ReLU epilogue is bit-identical to the GEMM followed by ReLU.

use crate::simd::F32x4;

/// An activation applied in the GEMM epilogue.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Clamp {
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), max)` with `max > 0` (ReLU6 for 6).
    BoundedRelu { max: f32 },
}

/// The per-element tail of a GEMM: `clamp(sum + bias[col])`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub clamp: Clamp,
}

impl<'a> From<Option<&'a [f32]>> for Epilogue<'a> {
    /// A bias (or none) and no clamp: the plain GEMM.
    fn from(bias: Option<&'a [f32]>) -> Self {
        Epilogue { bias, clamp: Clamp::None }
    }
}

impl Epilogue<'_> {
    /// Four outputs of columns `col..col + 4`.
    #[inline(always)]
    pub(crate) fn apply4(&self, sum: F32x4, col: usize) -> F32x4 {
        self.quad(col).apply(sum)
    }

    /// The epilogue of columns `col..col + 4`, its bias loaded once for the
    /// many outputs of those columns a caller stores in a row.
    #[inline(always)]
    pub(crate) fn quad(&self, col: usize) -> QuadEpilogue {
        QuadEpilogue { bias: self.bias.map(|bias| F32x4::load(&bias[col..])), clamp: self.clamp }
    }

    /// One output of column `col`, rounded as `apply4` rounds each lane.
    #[inline(always)]
    pub(crate) fn apply1(&self, sum: f32, col: usize) -> f32 {
        let v = sum + self.bias.map_or(0.0, |bias| bias[col]);
        self.clamp.apply(v)
    }
}

/// `Epilogue` for four given columns (`Epilogue::quad`).
#[derive(Clone, Copy)]
pub(crate) struct QuadEpilogue {
    bias: Option<F32x4>,
    clamp: Clamp,
}

impl QuadEpilogue {
    /// `clamp(sum + bias)`, lane by lane as `Epilogue::apply1`.
    #[inline(always)]
    pub(crate) fn apply(self, sum: F32x4) -> F32x4 {
        self.clamp.apply4(self.bias.map_or(sum, |bias| sum.add(bias)))
    }
}

impl Clamp {
    /// The clamp of one value (the scalar definition the vector lanes follow).
    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Clamp::None => v,
            Clamp::Relu => relu(v),
            Clamp::BoundedRelu { max } => relu_max(v, max),
        }
    }

    /// The clamp of four values, lane by lane as `apply`.
    #[inline(always)]
    pub(crate) fn apply4(self, v: F32x4) -> F32x4 {
        match self {
            Clamp::None => v,
            Clamp::Relu => v.relu(),
            Clamp::BoundedRelu { max } => v.relu_max(F32x4::splat(max)),
        }
    }

    /// Applies the clamp in place (for paths that cannot fuse it).
    pub fn apply_slice(self, y: &mut [f32]) {
        if self != Clamp::None {
            for v in y {
                *v = self.apply(*v);
            }
        }
    }
}

#[inline(always)]
fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

#[inline(always)]
fn relu_max(v: f32, max: f32) -> f32 {
    if v > 0.0 {
        if v < max {
            v
        } else {
            max
        }
    } else {
        0.0
    }
}
