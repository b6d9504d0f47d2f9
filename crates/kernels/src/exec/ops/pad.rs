//! ZeroPadding2D step: zeros around the plane; the backward crops.

use super::{BackwardReads, BwdIo, FwdIo, Op, Plan, Shape3};
use crate::error::KernelError;
use crate::geom::Pad2dGeom;
use crate::pad2d;

#[derive(Debug, Clone)]
pub struct ZeroPad {
    input: Shape3,
    output: Shape3,
    /// top, bottom, left, right
    pads: [usize; 4],
}

impl ZeroPad {
    pub fn plan(pads: [usize; 4], p: &mut Plan<'_>) -> Result<Self, KernelError> {
        let input = p.input();
        let g = Pad2dGeom::new(input.nhwc(1), [[pads[0], pads[1]], [pads[2], pads[3]]]).map_err(p.ctx())?;
        Ok(Self { input, output: Shape3 { h: g.h_out, w: g.w_out, c: input.c }, pads })
    }
    fn geom(&self, n: usize) -> Result<Pad2dGeom, KernelError> {
        Pad2dGeom::new(self.input.nhwc(n), [[self.pads[0], self.pads[1]], [self.pads[2], self.pads[3]]])
    }
}

impl Op for ZeroPad {
    fn output(&self) -> Shape3 {
        self.output
    }
    fn forward_work(&self) -> f64 {
        self.output.size() as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        pad2d::pad2d_fwd(&g, &io.xs[0][..g.x_len()], io.y);
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let g = self.geom(io.batch)?;
        if let Some(dx) = io.dxs[0].as_deref_mut() {
            pad2d::pad2d_bwd(&g, io.dy, dx);
        }
        Ok(())
    }
}
