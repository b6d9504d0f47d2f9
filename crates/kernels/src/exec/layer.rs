//! One layer of a planned model: its shapes, where its tensors live in the
//! model's flat buffers, how much scratch it needs, and the single dispatch
//! from the layer kind to the kernels for the forward and backward passes.

use super::spec::LayerSpec;
use crate::activation;
use crate::batchnorm::{self, BatchNormParams};
use crate::conv2d;
use crate::dropout::{self, DropoutParams};
use crate::error::KernelError;
use crate::gemm::{gemm, gemm_tn};
use crate::geom::{BatchNormGeom, Conv2dGeom, GemmGeom, Pool2dGeom, SoftmaxGeom};
use crate::optim::ParamRange;
use crate::pool;

/// Per-sample activation shape (NHWC without N). Flat tensors are `[1, 1, c]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape3 {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Shape3 {
    /// Elements per sample; saturates instead of wrapping, so an absurd shape
    /// fails at allocation with a clear error rather than aliasing memory.
    pub fn size(&self) -> usize {
        self.h.saturating_mul(self.w).saturating_mul(self.c)
    }
    fn nhwc(&self, n: usize) -> [usize; 4] {
        [n, self.h, self.w, self.c]
    }
}

/// What a tensor is, reported to TypeScript for naming (`layers.3.kernel`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Kernel = 1,
    Bias = 2,
    Gamma = 3,
    Beta = 4,
    MovingMean = 5,
    MovingVariance = 6,
}

/// Which flat buffer a tensor lives in: trained parameters, or state that
/// training updates without gradients (BatchNorm's moving statistics).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferKind {
    Params = 1,
    State = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tensor {
    pub layer: usize,
    pub role: Role,
    pub buffer: BufferKind,
    pub range: ParamRange,
}

/// Bump allocator for offsets into the model's flat buffers.
#[derive(Default)]
pub struct Offsets {
    pub params: usize,
    pub state: usize,
    pub aux: usize,
    pub argmax: usize,
}

fn take(next: &mut usize, len: usize) -> ParamRange {
    let r = ParamRange { offset: *next, len };
    *next += len;
    r
}

/// Forward-pass mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Batch statistics, active dropout (seeded per step and layer).
    Train { seed: u64, step: u64 },
    /// Moving statistics, no dropout.
    Infer,
}

/// The buffers a layer's forward pass reads and writes.
pub struct FwdIo<'a> {
    pub batch: usize,
    pub x: &'a [f32],
    pub y: &'a mut [f32],
    pub params: &'a [f32],
    pub state: &'a mut [f32],
    pub aux: &'a mut [f32],
    pub argmax: &'a mut [u32],
    pub scratch: &'a mut [f32],
    pub mode: Mode,
}

/// The buffers a layer's backward pass reads and writes. `dx = None` skips
/// the input gradient where that saves work (the first layer).
pub struct BwdIo<'a> {
    pub batch: usize,
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub dy: &'a [f32],
    pub dx: Option<&'a mut [f32]>,
    pub params: &'a [f32],
    pub grads: &'a mut [f32],
    pub state: &'a [f32],
    pub aux: &'a [f32],
    pub argmax: &'a [u32],
    pub scratch: &'a mut [f32],
    pub mode: Mode,
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub index: usize,
    pub spec: LayerSpec,
    pub input: Shape3,
    pub output: Shape3,
    /// Conv2D/Dense kernel or BatchNorm gamma (params buffer).
    pub weight: Option<ParamRange>,
    /// Conv2D/Dense bias or BatchNorm beta (params buffer).
    pub bias: Option<ParamRange>,
    /// BatchNorm moving mean and variance (state buffer).
    pub moving: Option<(ParamRange, ParamRange)>,
    /// BatchNorm batch mean and inverse std saved by the training forward (aux buffer).
    pub saved: Option<(ParamRange, ParamRange)>,
    /// Max-pool argmax entries per sample (argmax buffer offset, per-sample length).
    pub argmax: Option<(usize, usize)>,
}

impl Layer {
    /// Rough size of one sample's forward pass: multiply-adds for a kernel
    /// (Conv2D, Dense; BatchNorm's gamma gives one per element), else one per
    /// element read or written. Decides whether a call is worth the pool.
    pub fn forward_work(&self) -> f64 {
        let positions = (self.output.h * self.output.w) as f64;
        match self.weight {
            Some(w) => w.len as f64 * positions,
            None => self.input.size().max(self.output.size()) as f64,
        }
    }

    /// Infers the output shape from `input`, validates the geometry, and
    /// places the layer's tensors.
    pub fn new(index: usize, spec: LayerSpec, input: Shape3, max_batch: usize, off: &mut Offsets) -> Result<Self, KernelError> {
        let ctx = |e: KernelError| KernelError { message: format!("layer {index}: {}", e.message), ..e };
        let mut layer = Layer { index, spec, input, output: input, weight: None, bias: None, moving: None, saved: None, argmax: None };
        match spec {
            LayerSpec::Conv2d { filters, kernel, strides, padding, use_bias, .. } => {
                let g = Conv2dGeom::new(1, input.h, input.w, input.c, filters, kernel[0], kernel[1], strides[0], strides[1], padding).map_err(ctx)?;
                layer.output = Shape3 { h: g.h_out, w: g.w_out, c: filters };
                layer.weight = Some(take(&mut off.params, g.w_len()));
                layer.bias = use_bias.then(|| take(&mut off.params, filters));
            }
            LayerSpec::Dense { units, use_bias, .. } => {
                if input.h != 1 || input.w != 1 {
                    return Err(KernelError::geometry(format!(
                        "layer {index}: Dense expects a flat input [batch, features], got [batch, {}, {}, {}] (add a Flatten layer before it)",
                        input.h, input.w, input.c
                    )));
                }
                layer.output = Shape3 { h: 1, w: 1, c: units };
                let len = input.c.checked_mul(units).filter(|&l| l <= isize::MAX as usize / 4).ok_or_else(|| {
                    KernelError::geometry(format!("layer {index}: Dense kernel [{}, {units}] is too large", input.c))
                })?;
                layer.weight = Some(take(&mut off.params, len));
                layer.bias = use_bias.then(|| take(&mut off.params, units));
            }
            LayerSpec::BatchNorm(_) => {
                let c = input.c;
                layer.weight = Some(take(&mut off.params, c));
                layer.bias = Some(take(&mut off.params, c));
                layer.moving = Some((take(&mut off.state, c), take(&mut off.state, c)));
                layer.saved = Some((take(&mut off.aux, c), take(&mut off.aux, c)));
            }
            LayerSpec::MaxPool { pool, strides, padding } | LayerSpec::AvgPool { pool, strides, padding } => {
                let g = Pool2dGeom::new(input.nhwc(1), pool, strides, padding).map_err(ctx)?;
                layer.output = Shape3 { h: g.h_out, w: g.w_out, c: input.c };
                if matches!(spec, LayerSpec::MaxPool { .. }) {
                    let per_sample = layer.output.size();
                    layer.argmax = Some((off.argmax, per_sample));
                    off.argmax = per_sample
                        .checked_mul(max_batch)
                        .and_then(|n| n.checked_add(off.argmax))
                        .ok_or_else(|| KernelError::geometry(format!("layer {index}: max-pool indices overflow")))?;
                }
            }
            LayerSpec::GlobalAvgPool => layer.output = Shape3 { h: 1, w: 1, c: input.c },
            LayerSpec::Flatten => layer.output = Shape3 { h: 1, w: 1, c: input.size() },
            LayerSpec::Relu | LayerSpec::LeakyRelu { .. } | LayerSpec::Sigmoid | LayerSpec::Dropout { .. } => {}
            LayerSpec::Softmax => {
                if input.h != 1 || input.w != 1 {
                    return Err(KernelError::geometry(format!(
                        "layer {index}: Softmax expects a flat input [batch, classes], got [batch, {}, {}, {}]",
                        input.h, input.w, input.c
                    )));
                }
            }
        }
        Ok(layer)
    }

    /// Flatten does not move data: its output is its input's buffer.
    pub fn aliases_input(&self) -> bool {
        matches!(self.spec, LayerSpec::Flatten)
    }

    /// Tensors this layer owns, for naming and weight I/O.
    pub fn tensors(&self) -> impl Iterator<Item = Tensor> + '_ {
        let bn = matches!(self.spec, LayerSpec::BatchNorm(_));
        let t = |role, buffer, range| Tensor { layer: self.index, role, buffer, range };
        let weight = self.weight.map(|r| t(if bn { Role::Gamma } else { Role::Kernel }, BufferKind::Params, r));
        let bias = self.bias.map(|r| t(if bn { Role::Beta } else { Role::Bias }, BufferKind::Params, r));
        let moving = self.moving.into_iter().flat_map(move |(m, v)| {
            [t(Role::MovingMean, BufferKind::State, m), t(Role::MovingVariance, BufferKind::State, v)]
        });
        weight.into_iter().chain(bias).chain(moving)
    }

    /// The kernel of a Conv2D/Dense layer: what decoupled weight decay
    /// applies to (not biases, not BatchNorm).
    pub fn kernel(&self) -> Option<ParamRange> {
        match self.spec {
            LayerSpec::Conv2d { .. } | LayerSpec::Dense { .. } => self.weight,
            _ => None,
        }
    }

    /// The kernel when the layer carries the L2 penalty.
    pub fn penalized(&self) -> Option<ParamRange> {
        match self.spec {
            LayerSpec::Conv2d { regularized: true, .. } | LayerSpec::Dense { regularized: true, .. } => self.weight,
            _ => None,
        }
    }

    fn conv_geom(&self, n: usize) -> Result<Conv2dGeom, KernelError> {
        let LayerSpec::Conv2d { filters, kernel, strides, padding, .. } = self.spec else { unreachable!("conv_geom on a non-conv layer") };
        let i = self.input;
        Conv2dGeom::new(n, i.h, i.w, i.c, filters, kernel[0], kernel[1], strides[0], strides[1], padding)
    }

    fn pool_geom(&self, n: usize) -> Result<Pool2dGeom, KernelError> {
        match self.spec {
            LayerSpec::MaxPool { pool, strides, padding } | LayerSpec::AvgPool { pool, strides, padding } => {
                Pool2dGeom::new(self.input.nhwc(n), pool, strides, padding)
            }
            LayerSpec::GlobalAvgPool => Pool2dGeom::global(self.input.nhwc(n)),
            _ => unreachable!("pool_geom on a non-pool layer"),
        }
    }

    fn dense_geom(&self, n: usize) -> Result<GemmGeom, KernelError> {
        GemmGeom::new(n, self.input.c, self.output.c)
    }

    /// Scratch elements the layer needs at batch `n` (forward and backward).
    pub fn scratch_len(&self, n: usize) -> Result<usize, KernelError> {
        Ok(match self.spec {
            LayerSpec::Conv2d { .. } => self.conv_geom(n)?.im2col_scratch_len(),
            // Backward transposes the kernel into scratch.
            LayerSpec::Dense { .. } => self.input.c * self.output.c,
            LayerSpec::BatchNorm(_) => batchnorm::scratch_len(&BatchNormGeom::new(self.input.nhwc(n))?),
            _ => 0,
        })
    }

    fn dropout(&self, rate: f32, mode: Mode) -> Result<Option<DropoutParams>, KernelError> {
        match mode {
            // One stream per (step, layer): masks never repeat across steps or layers.
            Mode::Train { seed, step } if rate > 0.0 => Ok(Some(DropoutParams::new(rate, seed, (step << 16) | self.index as u64)?)),
            _ => Ok(None),
        }
    }

    /// Runs the forward pass of this layer over `io.batch` samples.
    pub fn forward(&self, io: FwdIo<'_>) -> Result<(), KernelError> {
        let n = io.batch;
        let (x, y) = (&io.x[..n * self.input.size()], &mut io.y[..n * self.output.size()]);
        match self.spec {
            LayerSpec::Conv2d { .. } => {
                let g = self.conv_geom(n)?;
                let w = &io.params[self.weight.unwrap().offset..][..g.w_len()];
                let b = self.bias.map(|r| &io.params[r.offset..r.end()]);
                conv2d::conv2d_fwd(&g, x, w, b, y, io.scratch);
            }
            LayerSpec::Dense { .. } => {
                let g = self.dense_geom(n)?;
                let w = &io.params[self.weight.unwrap().offset..][..g.b_len()];
                let b = self.bias.map(|r| &io.params[r.offset..r.end()]);
                gemm(&g, x, w, b, y);
            }
            LayerSpec::BatchNorm(p) => self.batchnorm_forward(&p, x, y, io.params, io.state, io.aux, io.scratch, io.mode, n)?,
            LayerSpec::Relu => activation::relu_fwd(x, y),
            LayerSpec::LeakyRelu { alpha } => activation::leaky_relu_fwd(alpha, x, y),
            LayerSpec::Sigmoid => activation::sigmoid_fwd(x, y),
            LayerSpec::Softmax => activation::softmax_fwd(&SoftmaxGeom::new(n, self.input.c)?, x, y),
            LayerSpec::MaxPool { .. } => {
                let (off, per) = self.argmax.unwrap();
                pool::maxpool2d_fwd(&self.pool_geom(n)?, x, y, Some(&mut io.argmax[off..off + per * n]));
            }
            LayerSpec::AvgPool { .. } => pool::avgpool2d_fwd(&self.pool_geom(n)?, x, y),
            LayerSpec::GlobalAvgPool => pool::global_avgpool2d_fwd(&self.pool_geom(n)?, x, y),
            LayerSpec::Flatten => {}
            LayerSpec::Dropout { rate } => match self.dropout(rate, io.mode)? {
                Some(p) => dropout::dropout_fwd(&p, x, y),
                None => y.copy_from_slice(x),
            },
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn batchnorm_forward(
        &self,
        p: &BatchNormParams,
        x: &[f32],
        y: &mut [f32],
        params: &[f32],
        state: &mut [f32],
        aux: &mut [f32],
        scratch: &mut [f32],
        mode: Mode,
        n: usize,
    ) -> Result<(), KernelError> {
        let g = BatchNormGeom::new(self.input.nhwc(n))?;
        let (gamma, beta) = (self.weight.unwrap(), self.bias.unwrap());
        let (gamma, beta) = (&params[gamma.offset..gamma.end()], &params[beta.offset..beta.end()]);
        let (mm, mv) = self.moving.unwrap();
        let (sm, si) = self.saved.unwrap();
        let (mean_state, var_state) = state[mm.offset..mv.end()].split_at_mut(mm.len);
        match mode {
            Mode::Train { .. } => {
                let (save_mean, save_inv_std) = aux[sm.offset..si.end()].split_at_mut(sm.len);
                batchnorm::batchnorm_fwd_train(&g, p, x, gamma, beta, y, save_mean, save_inv_std, mean_state, var_state, scratch);
            }
            Mode::Infer => batchnorm::batchnorm_fwd_infer(&g, p, x, gamma, beta, mean_state, var_state, y, scratch),
        }
        Ok(())
    }

    /// Runs the backward pass: parameter gradients into `io.grads` (this
    /// layer's ranges are overwritten) and, when `io.dx` is given, the input
    /// gradient.
    pub fn backward(&self, io: BwdIo<'_>) -> Result<(), KernelError> {
        let n = io.batch;
        let (xs, ys) = (n * self.input.size(), n * self.output.size());
        let (x, y, dy) = (&io.x[..xs], &io.y[..ys], &io.dy[..ys]);
        let mut dx = io.dx.map(|d| &mut d[..xs]);
        match self.spec {
            LayerSpec::Conv2d { .. } => {
                let g = self.conv_geom(n)?;
                let wr = self.weight.unwrap();
                let (before_bias, bias_grads) = io.grads.split_at_mut(wr.end());
                let dw = &mut before_bias[wr.offset..];
                let db = self.bias.map(|r| &mut bias_grads[r.offset - wr.end()..r.end() - wr.end()]);
                conv2d::conv2d_bwd_weight(&g, x, dy, dw, db, io.scratch);
                if let Some(dx) = dx.as_deref_mut() {
                    conv2d::conv2d_bwd_input(&g, &io.params[wr.offset..wr.end()], dy, dx, io.scratch);
                }
            }
            LayerSpec::Dense { .. } => {
                let (inp, out) = (self.input.c, self.output.c);
                let wr = self.weight.unwrap();
                // dW[in×out] = xᵀ·dy, reducing over the batch in order.
                gemm_tn(&GemmGeom::new(inp, n, out)?, x, dy, &mut io.grads[wr.offset..wr.end()], false);
                if let Some(br) = self.bias {
                    let db = &mut io.grads[br.offset..br.end()];
                    db.copy_from_slice(&dy[..out]);
                    for row in dy.chunks_exact(out).skip(1) {
                        crate::vecops::add_assign(db, row);
                    }
                }
                if let Some(dx) = dx.as_deref_mut() {
                    // dx = dy·Wᵀ: transpose W[in×out] into scratch, then one GEMM.
                    let w = &io.params[wr.offset..wr.end()];
                    let wt = &mut io.scratch[..inp * out];
                    crate::vecops::transpose(w, inp, out, wt);
                    gemm(&GemmGeom::new(n, out, inp)?, dy, wt, None, dx);
                }
            }
            LayerSpec::BatchNorm(p) => {
                let g = BatchNormGeom::new(self.input.nhwc(n))?;
                let (gr, br) = (self.weight.unwrap(), self.bias.unwrap());
                let gamma = &io.params[gr.offset..gr.end()];
                let (sm, si) = self.saved.unwrap();
                let (dgamma, dbeta) = io.grads[gr.offset..br.end()].split_at_mut(gr.len);
                let dx = dx.ok_or_else(|| KernelError::value(format!("layer {}: BatchNorm backward needs dx", self.index)))?;
                match io.mode {
                    Mode::Train { .. } => batchnorm::batchnorm_bwd(
                        &g,
                        x,
                        dy,
                        gamma,
                        &io.aux[sm.offset..sm.end()],
                        &io.aux[si.offset..si.end()],
                        dx,
                        dgamma,
                        &mut dbeta[..br.len],
                        io.scratch,
                    ),
                    Mode::Infer => {
                        let (_, mv) = self.moving.unwrap();
                        batchnorm::batchnorm_bwd_infer(&g, &p, dy, gamma, &io.state[mv.offset..mv.end()], dx, io.scratch);
                        dgamma.fill(0.0);
                        dbeta.fill(0.0);
                    }
                }
            }
            _ => {
                let Some(dx) = dx else { return Ok(()) };
                match self.spec {
                    LayerSpec::Relu => activation::relu_bwd(y, dy, dx),
                    LayerSpec::LeakyRelu { alpha } => activation::leaky_relu_bwd(alpha, x, dy, dx),
                    LayerSpec::Sigmoid => activation::sigmoid_bwd(y, dy, dx),
                    LayerSpec::Softmax => activation::softmax_bwd(&SoftmaxGeom::new(n, self.input.c)?, y, dy, dx),
                    LayerSpec::MaxPool { .. } => {
                        let (off, per) = self.argmax.unwrap();
                        pool::maxpool2d_bwd(&self.pool_geom(n)?, &io.argmax[off..off + per * n], dy, dx);
                    }
                    LayerSpec::AvgPool { .. } => pool::avgpool2d_bwd(&self.pool_geom(n)?, dy, dx),
                    LayerSpec::GlobalAvgPool => pool::global_avgpool2d_bwd(&self.pool_geom(n)?, dy, dx),
                    LayerSpec::Flatten => dx.copy_from_slice(dy),
                    LayerSpec::Dropout { rate } => match self.dropout(rate, io.mode)? {
                        Some(p) => dropout::dropout_bwd(&p, dy, dx),
                        None => dx.copy_from_slice(dy),
                    },
                    LayerSpec::Conv2d { .. } | LayerSpec::Dense { .. } | LayerSpec::BatchNorm(_) => unreachable!("handled above"),
                }
            }
        }
        Ok(())
    }
}
