//! Dense step on flat inputs `[batch, features]`: kernel `[in, units]`, optional bias.

use super::{slice, BufferKind, BwdIo, FwdIo, Op, Plan, Role, Shape3};
use crate::error::KernelError;
use crate::gemm::{gemm, gemm_tn};
use crate::geom::GemmGeom;
use crate::optim::ParamRange;

#[derive(Debug, Clone)]
pub struct Dense {
    inputs: usize,
    units: usize,
    regularized: bool,
    weight: ParamRange,
    bias: Option<ParamRange>,
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
        let weight = p.off.params(len);
        let bias = use_bias.then(|| p.off.params(units));
        Ok(Self { inputs: input.c, units, regularized, weight, bias })
    }
}

impl Op for Dense {
    fn output(&self) -> Shape3 {
        Shape3 { h: 1, w: 1, c: self.units }
    }
    fn tensors(&self) -> Vec<(Role, BufferKind, ParamRange)> {
        let mut t = vec![(Role::Kernel, BufferKind::Params, self.weight)];
        t.extend(self.bias.map(|b| (Role::Bias, BufferKind::Params, b)));
        t
    }
    /// Backward transposes the kernel into scratch.
    fn scratch_len(&self, _n: usize) -> Result<usize, KernelError> {
        Ok(self.inputs * self.units)
    }
    fn forward_work(&self) -> f64 {
        self.weight.len as f64
    }
    fn kernel(&self) -> Option<ParamRange> {
        Some(self.weight)
    }
    fn penalized(&self) -> Option<ParamRange> {
        self.regularized.then_some(self.weight)
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = GemmGeom::new(io.batch, self.inputs, self.units)?;
        gemm(&g, &io.xs[0][..io.batch * self.inputs], slice(io.params, self.weight), self.bias.map(|r| slice(io.params, r)), io.y);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let (inp, out, n) = (self.inputs, self.units, io.batch);
        let dy = io.dy;
        if io.param_grads {
            // dW[in×out] = xᵀ·dy, reducing over the batch in order.
            gemm_tn(&GemmGeom::new(inp, n, out)?, &io.xs[0][..n * inp], dy, &mut io.grads[self.weight.offset..self.weight.end()], false);
            if let Some(br) = self.bias {
                let db = &mut io.grads[br.offset..br.end()];
                db.copy_from_slice(&dy[..out]);
                for row in dy.chunks_exact(out).skip(1) {
                    crate::vecops::add_assign(db, row);
                }
            }
        }
        let w = slice(io.params, self.weight);
        let wt = &mut io.scratch[..inp * out];
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            // dx = dy·Wᵀ: transpose W[in×out] into scratch, then one GEMM.
            crate::vecops::transpose(w, inp, out, wt);
            gemm(&GemmGeom::new(n, out, inp)?, dy, wt, None, dx);
        }
        Ok(())
    }
}
