//! Conv2D step: NHWC input, kernel `[k_h, k_w, c_in, filters]`, optional bias.

use super::{slice, BwdIo, FwdIo, KernelTensors, Op, Plan, Shape3};
use crate::conv2d;
use crate::gemm::{Clamp, Epilogue};
use crate::error::KernelError;
use crate::exec::spec::StepSpec;
use crate::geom::{Conv2dGeom, Padding};
use crate::optim::ParamRange;

#[derive(Debug, Clone)]
pub struct Conv2d {
    input: Shape3,
    output: Shape3,
    filters: usize,
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    tensors: KernelTensors,
    /// ReLU run in the GEMM epilogue (fused inference only).
    clamp: Clamp,
    /// Where the kept kernel (`conv2d::conv2d_prepare` of the kernel tensor:
    /// Winograd-transformed or packed in GEMM panels) lives, in the same
    /// buffer as the tensors: fused inference rebuilds it with the folded
    /// weights, and the forward reads it instead of transforming or packing
    /// the kernel on every call.
    prepared: Option<ParamRange>,
}

impl Conv2d {
    pub fn plan(spec: StepSpec, p: &mut Plan<'_>) -> Result<Self, KernelError> {
        let StepSpec::Conv2d { filters, kernel, strides, padding, use_bias, regularized } = spec else {
            return Err(p.error("Conv2d::plan needs a Conv2d spec"));
        };
        let input = p.input();
        let g = Conv2dGeom::new(1, input.h, input.w, input.c, filters, kernel[0], kernel[1], strides[0], strides[1], padding).map_err(p.ctx())?;
        let tensors = KernelTensors::place(p.off, g.w_len(), filters, use_bias, regularized);
        Ok(Self { input, output: Shape3 { h: g.h_out, w: g.w_out, c: filters }, filters, kernel, strides, padding, tensors, clamp: Clamp::None, prepared: None })
    }

    /// This convolution with other kernel and bias tensors (folded ones) and a
    /// clamp in its epilogue: the producer of a fused inference group.
    pub fn fused(&self, tensors: KernelTensors, clamp: Clamp) -> Self {
        Self { tensors, clamp, ..self.clone() }
    }

    /// The geometry (at batch 1) with which to prepare this convolution's
    /// kept kernel (`conv2d::conv2d_prepare`), when it is one that keeps a
    /// kernel (`conv2d::prepared_kernel_len`, which does not depend on the
    /// batch).
    pub fn prepared_geom(&self) -> Option<Conv2dGeom> {
        let g = self.geom(1).ok()?;
        conv2d::prepared_kernel_len(&g).map(|_| g)
    }

    /// This convolution reading its kept kernel from `range` of the
    /// buffer its tensors live in (`prepared_kernel_len` elements).
    pub fn with_prepared(&self, range: ParamRange) -> Self {
        Self { prepared: Some(range), ..self.clone() }
    }

    fn geom(&self, n: usize) -> Result<Conv2dGeom, KernelError> {
        let i = self.input;
        Conv2dGeom::new(n, i.h, i.w, i.c, self.filters, self.kernel[0], self.kernel[1], self.strides[0], self.strides[1], self.padding)
    }
}

impl Op for Conv2d {
    fn output(&self) -> Shape3 {
        self.output
    }
    fn kernel_tensors(&self) -> Option<&KernelTensors> {
        Some(&self.tensors)
    }
    fn scratch_len(&self, n: usize) -> Result<usize, KernelError> {
        Ok(self.geom(n)?.im2col_scratch_len())
    }
    fn forward_work(&self) -> f64 {
        self.tensors.weight.len as f64 * (self.output.h * self.output.w) as f64
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let ep = Epilogue { bias: self.tensors.bias(io.params), clamp: self.clamp };
        let x = &io.xs[0][..g.x_len()];
        match self.prepared {
            Some(u) => conv2d::conv2d_fwd_prepared(&g, x, slice(io.params, u), ep, io.y, io.scratch),
            None => conv2d::conv2d_fwd_with(&g, x, self.tensors.kernel(io.params), ep, io.y, io.scratch),
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let x = &io.xs[0][..g.x_len()];
        if io.param_grads {
            let (dw, db) = self.tensors.grads(io.grads);
            conv2d::conv2d_bwd_weight(&g, x, io.dy, dw, db, io.scratch);
        }
        let w = self.tensors.kernel(io.params);
        let scratch = &mut *io.scratch;
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            conv2d::conv2d_bwd_input(&g, w, io.dy, dx, scratch);
        }
        Ok(())
    }
}
