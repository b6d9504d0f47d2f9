//! Dropout step: inverted dropout in training (a mask that is a pure function
//! of the run's seed, the step number and this step's index), identity otherwise.

use super::{BackwardReads, BwdIo, FwdIo, Mode, Op, Plan, Shape3};
use crate::dropout::{self, DropoutParams};
use crate::error::KernelError;

#[derive(Debug, Clone)]
pub struct Dropout {
    rate: f32,
    shape: Shape3,
}

impl Dropout {
    pub fn plan(rate: f32, p: &mut Plan<'_>) -> Self {
        Self { rate, shape: p.input() }
    }

    fn params(&self, mode: Mode, index: usize) -> Result<Option<DropoutParams>, KernelError> {
        match mode {
            // One stream per (training step, executor step): masks never repeat.
            Mode::Train { seed, step } if self.rate > 0.0 => Ok(Some(DropoutParams::new(self.rate, seed, (step << 16) | index as u64)?)),
            _ => Ok(None),
        }
    }
}

impl Op for Dropout {
    fn output(&self) -> Shape3 {
        self.shape
    }
    fn forward_work(&self) -> f64 {
        self.shape.size() as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let x = &io.xs[0][..io.y.len()];
        match self.params(io.mode, io.step)? {
            Some(p) => dropout::dropout_fwd(&p, x, io.y),
            None => io.y.copy_from_slice(x),
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let params = self.params(io.mode, io.step)?;
        let Some(dx) = io.dxs[0].as_deref_mut() else { return Ok(()) };
        match params {
            Some(p) => dropout::dropout_bwd(&p, io.dy, dx),
            None => dx.copy_from_slice(io.dy),
        }
        Ok(())
    }
}
