//! Dense step on flat inputs `[batch, features]`: kernel `[in, units]`, optional bias.

use super::{BwdIo, FwdIo, KernelTensors, Op, Plan, Shape3};
use crate::error::KernelError;
use crate::gemm::{gemm, gemm_tn, gemm_with, Clamp, Epilogue};
use crate::geom::GemmGeom;

#[derive(Debug, Clone)]
pub struct Dense {
    inputs: usize,
    units: usize,
    tensors: KernelTensors,
    /// ReLU run in the GEMM epilogue (fused inference only).
    clamp: Clamp,
}

impl Dense {
    pub fn plan(units: usize, use_bias: bool, regularized: bool, p: &mut Plan<'_>) -> Result<Self, KernelError> {
        let input = p.input();
        if !input.is_flat() {
            return Err(p.error(format_args!(
                "Dense expects a flat input [batch, features], got [batch, {}, {}, {}] (add a Flatten layer before it)",
                input.h, input.w, input.c
            )));
        }
        let len = input.c.checked_mul(units).filter(|&l| l <= isize::MAX as usize / 4);
        let len = len.ok_or_else(|| p.error(format_args!("Dense kernel [{}, {units}] is too large", input.c)))?;
        Ok(Self { inputs: input.c, units, tensors: KernelTensors::place(p.off, len, units, use_bias, regularized), clamp: Clamp::None })
    }

    /// This layer with other kernel and bias tensors (folded ones) and a clamp
    /// in its epilogue: the producer of a fused inference group.
    pub fn fused(&self, tensors: KernelTensors, clamp: Clamp) -> Self {
        Self { tensors, clamp, ..self.clone() }
    }
}

impl Op for Dense {
    fn output(&self) -> Shape3 {
        Shape3 { h: 1, w: 1, c: self.units }
    }
    fn kernel_tensors(&self) -> Option<&KernelTensors> {
        Some(&self.tensors)
    }
    /// Backward transposes the kernel into scratch.
    fn scratch_len(&self, _n: usize) -> Result<usize, KernelError> {
        Ok(self.inputs * self.units)
    }
    fn forward_work(&self) -> f64 {
        self.tensors.weight.len as f64
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = GemmGeom::new(io.batch, self.inputs, self.units)?;
        let ep = Epilogue { bias: self.tensors.bias(io.params), clamp: self.clamp };
        gemm_with(&g, &io.xs[0][..io.batch * self.inputs], self.tensors.kernel(io.params), ep, io.y);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let (inp, out, n) = (self.inputs, self.units, io.batch);
        let dy = io.dy;
        if io.param_grads {
            // dW[in×out] = xᵀ·dy, reducing over the batch in order.
            let (dw, db) = self.tensors.grads(io.grads);
            gemm_tn(&GemmGeom::new(inp, n, out)?, &io.xs[0][..n * inp], dy, dw, false);
            if let Some(db) = db {
                db.copy_from_slice(&dy[..out]);
                crate::columns::add_column_sums(db, &dy[out..n * out]);
            }
        }
        let w = self.tensors.kernel(io.params);
        let wt = &mut io.scratch[..inp * out];
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            // dx = dy·Wᵀ: transpose W[in×out] into scratch, then one GEMM.
            crate::vecops::transpose(w, inp, out, wt);
            gemm(&GemmGeom::new(n, out, inp)?, dy, wt, None, dx);
        }
        Ok(())
    }
}
