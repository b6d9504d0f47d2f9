//! Elementwise activation steps (ReLU, bounded ReLU, LeakyReLU, sigmoid, tanh,
//! swish, hard sigmoid, hard swish) and the row-wise softmax.

use super::{BackwardReads, BwdIo, FwdIo, Op, Plan, Shape3};
use crate::activation;
use crate::gemm::Clamp;
use crate::error::KernelError;
use crate::geom::SoftmaxGeom;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Relu,
    /// `min(max(x, 0), max)`: ReLU6 and Keras' `ReLU(max_value)`.
    BoundedRelu { max: f32 },
    LeakyRelu { alpha: f32 },
    Sigmoid,
    Tanh,
    Swish,
    HardSigmoid,
    HardSwish,
}

#[derive(Debug, Clone)]
pub struct Activation {
    pub kind: Kind,
    shape: Shape3,
}

impl Activation {
    pub fn plan(kind: Kind, p: &mut Plan<'_>) -> Self {
        Self { kind, shape: p.input() }
    }
}

impl Activation {
    /// The GEMM epilogue clamp that computes this activation, if one does.
    pub fn clamp(&self) -> Option<Clamp> {
        match self.kind {
            Kind::Relu => Some(Clamp::Relu),
            Kind::BoundedRelu { max } => Some(Clamp::BoundedRelu { max }),
            Kind::LeakyRelu { .. } | Kind::Sigmoid | Kind::Tanh | Kind::Swish | Kind::HardSigmoid | Kind::HardSwish => None,
        }
    }
}

impl Op for Activation {
    fn output(&self) -> Shape3 {
        self.shape
    }
    fn forward_work(&self) -> f64 {
        self.shape.size() as f64
    }
    /// ReLU-like, sigmoid and tanh gradients come from the output; LeakyReLU's, swish's and the hard ones' from the input.
    fn backward_reads(&self) -> BackwardReads {
        match self.kind {
            Kind::LeakyRelu { .. } | Kind::Swish | Kind::HardSigmoid | Kind::HardSwish => BackwardReads { inputs: true, output: false },
            Kind::Relu | Kind::BoundedRelu { .. } | Kind::Sigmoid | Kind::Tanh => BackwardReads { inputs: false, output: true },
        }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let x = &io.xs[0][..io.y.len()];
        match self.kind {
            Kind::Relu => activation::relu_fwd(x, io.y),
            Kind::BoundedRelu { max } => activation::relu_max_fwd(max, x, io.y),
            Kind::LeakyRelu { alpha } => activation::leaky_relu_fwd(alpha, x, io.y),
            Kind::Sigmoid => activation::sigmoid_fwd(x, io.y),
            Kind::Tanh => activation::tanh_fwd(x, io.y),
            Kind::Swish => activation::swish_fwd(x, io.y),
            Kind::HardSigmoid => activation::hard_sigmoid_fwd(x, io.y),
            Kind::HardSwish => activation::hard_swish_fwd(x, io.y),
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let Some(dx) = io.dxs[0].as_deref_mut() else { return Ok(()) };
        match self.kind {
            Kind::Relu => activation::relu_bwd(io.y, io.dy, dx),
            Kind::BoundedRelu { max } => activation::relu_max_bwd(max, io.y, io.dy, dx),
            Kind::LeakyRelu { alpha } => activation::leaky_relu_bwd(alpha, &io.xs[0][..dx.len()], io.dy, dx),
            Kind::Sigmoid => activation::sigmoid_bwd(io.y, io.dy, dx),
            Kind::Tanh => activation::tanh_bwd(io.y, io.dy, dx),
            Kind::Swish => activation::swish_bwd(&io.xs[0][..dx.len()], io.dy, dx),
            Kind::HardSigmoid => activation::hard_sigmoid_bwd(&io.xs[0][..dx.len()], io.dy, dx),
            Kind::HardSwish => activation::hard_swish_bwd(&io.xs[0][..dx.len()], io.dy, dx),
        }
        Ok(())
    }
}

/// Softmax over the classes of a flat input `[batch, classes]`.
#[derive(Debug, Clone)]
pub struct Softmax {
    classes: usize,
}

impl Softmax {
    pub fn plan(p: &mut Plan<'_>) -> Result<Self, KernelError> {
        let input = p.input();
        if !input.is_flat() {
            return Err(p.error(format_args!("Softmax expects a flat input [batch, classes], got [batch, {}, {}, {}]", input.h, input.w, input.c)));
        }
        Ok(Self { classes: input.c })
    }
}

impl Op for Softmax {
    fn output(&self) -> Shape3 {
        Shape3 { h: 1, w: 1, c: self.classes }
    }
    fn forward_work(&self) -> f64 {
        self.classes as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: true }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = SoftmaxGeom::new(io.batch, self.classes)?;
        activation::softmax_fwd(&g, &io.xs[0][..io.y.len()], io.y);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let Some(dx) = io.dxs[0].as_deref_mut() else { return Ok(()) };
        activation::softmax_bwd(&SoftmaxGeom::new(io.batch, self.classes)?, io.y, io.dy, dx);
        Ok(())
    }
}
