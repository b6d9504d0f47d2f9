//! A step whose work the step before it does: in fused inference a BatchNorm
//! folded into the preceding convolution's weights or a ReLU run in its GEMM
//! epilogue (exec/fusion.rs); in a training step a ReLU run inside the
//! preceding BatchNorm (exec/train_fusion.rs, which never runs it backward). Its output is its input's buffer, already
//! final, so the executor skips it like a Flatten.

use super::{BwdIo, FwdIo, Op, Shape3};
use crate::error::KernelError;

#[derive(Debug, Clone)]
pub struct Absorbed {
    pub shape: Shape3,
}

impl Op for Absorbed {
    fn output(&self) -> Shape3 {
        self.shape
    }
    fn forward_work(&self) -> f64 {
        0.0
    }
    fn aliases_input(&self) -> bool {
        true
    }
    fn forward(&self, _io: FwdIo<'_>) -> Result<(), KernelError> {
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        Err(KernelError::value(format!("step {}: internal error: an absorbed step has no backward pass", io.step)))
    }
}
