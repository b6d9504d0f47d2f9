//! Merge steps over two or more inputs: elementwise Add (residual
//! connections) and Average (ensembles), Multiply (squeeze-and-excitation
//! gates), and channel-axis Concatenate.

use super::{BackwardReads, BwdIo, FwdIo, Op, Plan, Shape3};
use crate::error::KernelError;
use crate::merge;

fn at_least_two(p: &Plan<'_>, what: &str) -> Result<(), KernelError> {
    if p.inputs.len() < 2 {
        return Err(p.error(format_args!("{what} needs at least 2 inputs, got {}", p.inputs.len())));
    }
    Ok(())
}

/// An elementwise merge of inputs of one shape, summed in input order: Add
/// (`y = x₀ + x₁ + …`, each input's gradient is `dy`) or Average (that sum
/// divided by the number of inputs, each input's gradient `dy / n`).
#[derive(Debug, Clone)]
pub struct Elementwise {
    shape: Shape3,
    inputs: usize,
    mean: bool,
}

impl Elementwise {
    pub fn add(p: &mut Plan<'_>) -> Result<Self, KernelError> {
        Self::plan(p, "Add", false)
    }

    pub fn average(p: &mut Plan<'_>) -> Result<Self, KernelError> {
        Self::plan(p, "Average", true)
    }

    fn plan(p: &mut Plan<'_>, what: &str, mean: bool) -> Result<Self, KernelError> {
        at_least_two(p, what)?;
        let shape = p.inputs[0];
        if let Some((i, s)) = p.inputs.iter().enumerate().find(|(_, s)| **s != shape) {
            return Err(p.error(format_args!("{what} needs inputs of one shape: input 0 is {shape}, input {i} is {s}")));
        }
        Ok(Self { shape, inputs: p.inputs.len(), mean })
    }
}

impl Op for Elementwise {
    fn output(&self) -> Shape3 {
        self.shape
    }
    fn forward_work(&self) -> f64 {
        (self.shape.size() * (self.inputs + self.mean as usize)) as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: false, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let len = io.y.len();
        let xs: Vec<&[f32]> = io.xs.iter().map(|x| &x[..len]).collect();
        if self.mean {
            merge::average_fwd(&xs, io.y);
        } else {
            merge::add_fwd(&xs, io.y);
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        for dx in io.dxs.iter_mut().flatten() {
            if self.mean {
                merge::average_bwd(io.dy, self.inputs, dx);
            } else {
                dx.copy_from_slice(io.dy);
            }
        }
        Ok(())
    }
}

/// Keras `Multiply` of two inputs: of one shape (element-wise), or one of
/// `[1, 1, c]` scaling the other per image and channel (a squeeze-and-
/// excitation gate). Both gradients need both inputs.
#[derive(Debug, Clone)]
pub struct Multiply {
    shape: Shape3,
    /// The input that is a `[1, 1, c]` scale, when one is.
    scale: Option<usize>,
}

impl Multiply {
    pub fn plan(p: &mut Plan<'_>) -> Result<Self, KernelError> {
        if p.inputs.len() != 2 {
            return Err(p.error(format_args!("Multiply takes 2 inputs, got {}", p.inputs.len())));
        }
        let (a, b) = (p.inputs[0], p.inputs[1]);
        let is_scale_of = |s: Shape3, x: Shape3| s.h == 1 && s.w == 1 && s.c == x.c;
        let (shape, scale) = if a == b {
            (a, None)
        } else if is_scale_of(b, a) {
            (a, Some(1))
        } else if is_scale_of(a, b) {
            (b, Some(0))
        } else {
            return Err(p.error(format_args!("Multiply needs inputs of one shape, or one of [1, 1, c] scaling the other: input 0 is {a}, input 1 is {b}")));
        };
        Ok(Self { shape, scale })
    }
}

impl Op for Multiply {
    fn output(&self) -> Shape3 {
        self.shape
    }
    fn forward_work(&self) -> f64 {
        self.shape.size() as f64
    }
    fn backward_reads(&self) -> BackwardReads {
        BackwardReads { inputs: true, output: false }
    }
    fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let len = io.y.len();
        match self.scale {
            None => merge::multiply_fwd(&io.xs[0][..len], &io.xs[1][..len], io.y),
            Some(s) => {
                let (pixels, c) = (self.shape.h * self.shape.w, self.shape.c);
                merge::scale_fwd(pixels, c, &io.xs[1 - s][..len], &io.xs[s][..io.batch * c], io.y);
            }
        }
        Ok(())
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let len = io.dy.len();
        let (pixels, c) = (self.shape.h * self.shape.w, self.shape.c);
        for i in 0..2 {
            let Some(dx) = io.dxs[i].as_deref_mut() else { continue };
            let other = io.xs[1 - i];
            match self.scale {
                None => merge::multiply_bwd(io.dy, &other[..len], &mut dx[..len]),
                // The full input's gradient: dy scaled as the forward scaled x.
                Some(s) if s != i => merge::scale_fwd(pixels, c, io.dy, &other[..io.batch * c], &mut dx[..len]),
                // The scale's gradient: dy · x summed over each image's pixels.
                Some(_) => merge::scale_bwd_scale(pixels, c, io.dy, &other[..len], &mut dx[..io.batch * c]),
            }
        }
        Ok(())
    }
}

/// Inputs of one spatial size joined along the channel axis, in input order.
#[derive(Debug, Clone)]
pub struct Concat {
    output: Shape3,
    channels: Vec<usize>,
}

impl Concat {
    pub fn plan(p: &mut Plan<'_>) -> Result<Self, KernelError> {
        at_least_two(p, "Concatenate")?;
        let first = p.inputs[0];
        if let Some((i, s)) = p.inputs.iter().enumerate().find(|(_, s)| s.h != first.h || s.w != first.w) {
            return Err(p.error(format_args!("Concatenate (channel axis) needs inputs of one height and width: input 0 is {first}, input {i} is {s}")));
        }
        let channels: Vec<usize> = p.inputs.iter().map(|s| s.c).collect();
        Ok(Self { output: Shape3 { h: first.h, w: first.w, c: channels.iter().sum() }, channels })
    }
}

impl Op for Concat {
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
        let pixels = io.batch * self.output.h * self.output.w;
        let parts: Vec<(&[f32], usize)> = io.xs.iter().zip(&self.channels).map(|(x, &c)| (&x[..pixels * c], c)).collect();
        merge::concat_channels_fwd(pixels, &parts, io.y);
        Ok(())
    }
    /// Every input gets a sink (`needs_dx_sink`): the channels of `dy` are
    /// split in one pass, whether or not a given input's gradient is used.
    fn needs_dx_sink(&self) -> bool {
        true
    }
    fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let pixels = io.batch * self.output.h * self.output.w;
        let step = io.step;
        let mut parts: Vec<(&mut [f32], usize)> = Vec::with_capacity(self.channels.len());
        for (dx, &c) in io.dxs.iter_mut().zip(&self.channels) {
            let d = dx.as_deref_mut().ok_or_else(|| KernelError::value(format!("step {step}: Concatenate backward needs every input's sink")))?;
            parts.push((&mut d[..pixels * c], c));
        }
        merge::concat_channels_bwd(io.dy, &mut parts);
        Ok(())
    }
}
