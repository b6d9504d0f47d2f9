//! Flatten: `[batch, h, w, c]` read as `[batch, h·w·c]`. NHWC is already
//! row-major in that order, so the step moves no data: its output is its
//! input's buffer, and its gradient is its input's gradient.

use super::{BackwardReads, BwdIo, FwdIo, Op, Plan, Shape3};
use crate::error::KernelError;

#[derive(Debug, Clone)]
pub struct Flatten {
    features: usize,
}

impl Flatten {
    pub fn plan(p: &mut Plan<'_>) -> Self {
        Self { features: p.input().size() }
    }
}

impl Op for Flatten {
    fn output(&self) -> Shape3 {
        Shape3 { h: 1, w: 1, c: self.features }
    }
    /// Counted like an elementwise step, though it moves no data, so the
    /// pool heuristic sees the same work as for a copying layer.
    fn forward_work(&self) -> f64 {
        self.features as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: false }
    }
    fn aliases_input(&self) -> bool {
        true
    }
    // The executor never runs an aliasing step; these keep the op total.
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        io.y.copy_from_slice(&io.xs[0][..io.y.len()]);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            dx.copy_from_slice(io.dy);
        }
        Ok(())
    }
}
