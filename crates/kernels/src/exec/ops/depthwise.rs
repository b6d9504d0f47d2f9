//! DepthwiseConv2D step: each input channel convolved with its own
//! `depth_multiplier` filters; kernel `[k_h, k_w, c_in, multiplier]` (Keras'),
//! output channel `c·multiplier + m`.

use super::{BwdIo, FwdIo, KernelTensors, Op, Plan, Shape3};
use crate::depthwise;
use crate::geom::{DepthwiseGeom, Padding};
use crate::error::KernelError;
use crate::exec::spec::StepSpec;

#[derive(Debug, Clone)]
pub struct Depthwise {
    input: Shape3,
    output: Shape3,
    multiplier: usize,
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    tensors: KernelTensors,
}

impl Depthwise {
    pub fn plan(spec: StepSpec, p: &mut Plan<'_>) -> Result<Self, KernelError> {
        let StepSpec::DepthwiseConv2d { multiplier, kernel, strides, padding, use_bias, regularized } = spec else {
            return Err(p.error("Depthwise::plan needs a DepthwiseConv2d spec"));
        };
        let input = p.input();
        let g = DepthwiseGeom::new(1, input.h, input.w, input.c, multiplier, kernel[0], kernel[1], strides[0], strides[1], padding).map_err(p.ctx())?;
        let c_out = input.c * multiplier;
        let tensors = KernelTensors::place(p.off, g.w_len(), c_out, use_bias, regularized);
        Ok(Self { input, output: Shape3 { h: g.h_out, w: g.w_out, c: c_out }, multiplier, kernel, strides, padding, tensors })
    }

    /// This convolution with other kernel and bias tensors (a folded
    /// BatchNorm's). Its kernel has no epilogue: a following ReLU stays a step.
    pub fn fused(&self, tensors: KernelTensors) -> Self {
        Self { tensors, ..self.clone() }
    }

    fn geom(&self, n: usize) -> Result<DepthwiseGeom, KernelError> {
        let i = self.input;
        DepthwiseGeom::new(n, i.h, i.w, i.c, self.multiplier, self.kernel[0], self.kernel[1], self.strides[0], self.strides[1], self.padding)
    }
}

impl Op for Depthwise {
    fn output(&self) -> Shape3 {
        self.output
    }
    fn kernel_tensors(&self) -> Option<&KernelTensors> {
        Some(&self.tensors)
    }
    fn scratch_len(&self, n: usize) -> Result<usize, KernelError> {
        Ok(self.geom(n)?.scratch_len())
    }
    fn forward_work(&self) -> f64 {
        (self.kernel[0] * self.kernel[1]) as f64 * self.output.size() as f64
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let b = self.tensors.bias(io.params);
        depthwise::depthwise_fwd(&g, &io.xs[0][..g.x_len()], self.tensors.kernel(io.params), b, io.y);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        if io.param_grads {
            let (dw, db) = self.tensors.grads(io.grads);
            depthwise::depthwise_bwd_weight(&g, &io.xs[0][..g.x_len()], io.dy, dw, db, io.scratch);
        }
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            depthwise::depthwise_bwd_input(&g, self.tensors.kernel(io.params), io.dy, dx);
        }
        Ok(())
    }
}
