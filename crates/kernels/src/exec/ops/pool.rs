//! Max and average pooling steps (Keras 'valid'/'same' or explicit pads,
//! PyTorch's ceil mode and count_include_pad), and global average pooling.

use super::{BackwardReads, BwdIo, FwdIo, Op, Plan, Shape3};
use crate::error::KernelError;
use crate::exec::spec::StepSpec;
use crate::geom::{Padding, Pool2dGeom, PoolOptions};
use crate::pool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reduce {
    /// Argmax indices per output element live at `offset` in the argmax buffer.
    Max { argmax_offset: usize },
    Avg,
}

#[derive(Debug, Clone)]
pub struct Pool {
    reduce: Reduce,
    input: Shape3,
    output: Shape3,
    window: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    options: PoolOptions,
}

impl Pool {
    pub fn plan(spec: StepSpec, p: &mut Plan<'_>) -> Result<Self, KernelError> {
        let (max, window, strides, padding, mode) = match spec {
            StepSpec::MaxPool { pool, strides, padding, mode } => (true, pool, strides, padding, mode),
            StepSpec::AvgPool { pool, strides, padding, mode } => (false, pool, strides, padding, mode),
            _ => return Err(p.error("Pool::plan needs a pooling spec")),
        };
        let input = p.input();
        let options = PoolOptions { ceil_mode: mode.ceil_mode, count_include_pad: mode.count_include_pad };
        let g = Pool2dGeom::with_options(input.nhwc(1), window, strides, padding, options).map_err(p.ctx())?;
        let output = Shape3 { h: g.h_out, w: g.w_out, c: input.c };
        let reduce = if max {
            let argmax_offset = p.off.argmax;
            p.off.argmax = output
                .size()
                .checked_mul(p.max_batch)
                .and_then(|n| n.checked_add(argmax_offset))
                .ok_or_else(|| p.error("max-pool indices overflow"))?;
            Reduce::Max { argmax_offset }
        } else {
            Reduce::Avg
        };
        Ok(Self { reduce, input, output, window, strides, padding, options })
    }

    fn geom(&self, n: usize) -> Result<Pool2dGeom, KernelError> {
        Pool2dGeom::with_options(self.input.nhwc(n), self.window, self.strides, self.padding, self.options)
    }
}

impl Op for Pool {
    fn output(&self) -> Shape3 {
        self.output
    }
    fn forward_work(&self) -> f64 {
        self.input.size().max(self.output.size()) as f64
    }
    /// Max pooling routes gradients through the indices it recorded; average
    /// pooling needs only the geometry.
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let x = &io.xs[0][..g.x_len()];
        match self.reduce {
            Reduce::Max { argmax_offset } => {
                let argmax = io.backward_follows.then(|| &mut io.argmax[argmax_offset..argmax_offset + g.y_len()]);
                pool::maxpool2d_fwd(&g, x, io.y, argmax)
            }
            Reduce::Avg => pool::avgpool2d_fwd(&g, x, io.y),
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        let Some(dx) = io.dxs[0].as_deref_mut() else { return Ok(()) };
        match self.reduce {
            Reduce::Max { argmax_offset } => pool::maxpool2d_bwd(&g, &io.argmax[argmax_offset..argmax_offset + g.y_len()], io.dy, dx),
            Reduce::Avg => pool::avgpool2d_bwd(&g, io.dy, dx),
        }
        Ok(())
    }
}

/// Mean over each channel's plane: `[batch, h, w, c]` to `[batch, c]`.
#[derive(Debug, Clone)]
pub struct GlobalAvgPool {
    input: Shape3,
}

impl GlobalAvgPool {
    pub fn plan(p: &mut Plan<'_>) -> Self {
        Self { input: p.input() }
    }
    fn geom(&self, n: usize) -> Result<Pool2dGeom, KernelError> {
        Pool2dGeom::global(self.input.nhwc(n))
    }
}

impl Op for GlobalAvgPool {
    fn output(&self) -> Shape3 {
        Shape3 { h: 1, w: 1, c: self.input.c }
    }
    fn forward_work(&self) -> f64 {
        self.input.size() as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        pool::global_avgpool2d_fwd(&g, &io.xs[0][..g.x_len()], io.y);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            pool::global_avgpool2d_bwd(&g, io.dy, dx);
        }
        Ok(())
    }
}
