//! Fused inference: for an inference pass (moving statistics, no kept
//! activations), a BatchNorm that follows a convolution or Dense layer is
//! folded into that layer's kernel and bias, and a ReLU or bounded ReLU that
//! follows is applied in its GEMM epilogue, so neither takes a pass of its own
//! over the activations. Training, a training-mode forward and inspection
//! (feature maps, Grad-CAM: every activation kept) run the model's own graph.
//!
//! Training with a frozen backbone uses the same machinery on the frozen
//! prefix (the steps none of whose inputs depend on a trainable parameter,
//! so nothing there needs a gradient): its groups fuse too, and the training
//! step runs a graph fused there and unfused from the first trainable step on.
//! The prefix's frozen BatchNorms run in inference mode anyway, so the values
//! are the same model's up to the folding's rounding (tests state the
//! tolerance); its weights and moving statistics never change in training.
//!
//! Planning finds the groups once and builds a second graph for inference in
//! which each producer reads its folded tensors and the absorbed steps alias
//! their input (like a Flatten), so the schedule and the executor need nothing
//! new. The folded tensors live in their own buffer, never in the trained
//! parameters, and are recomputed before the next fused pass whenever the
//! weights may have changed (`mark_stale`: after a training step or a
//! training-mode forward, and whenever the parameter or state buffer is handed
//! out for writing). A frozen prefix's folds change only on such a write: its
//! steps are frozen, so training steps leave them as they are.
//!
//! A group is `producer → BatchNorm → clamp`, `producer → BatchNorm` or
//! `producer → clamp` along values that nothing else reads and that are
//! neither the model's output nor the loss head (whose contents the fused pass
//! does not materialise). Depthwise convolutions fold a BatchNorm but keep a
//! following ReLU as a step (their kernel has no epilogue).
//!
//! A folded 3×3 stride-1 convolution that Winograd can run (see
//! `conv2d::prepared_kernel_len`) also keeps its transformed folded kernel in
//! `weights`, rebuilt with the fold: its forward then skips the per-call
//! kernel transform and takes Winograd at any batch, where the per-call
//! transform would not pay on few tiles (ResNet-18's 7×7 and 14×14 maps at
//! batch 1). That path sums in another order than im2col, so a fused pass may
//! differ from the model's own graph in the last bits there too. Other folded
//! convolutions that run the blocked im2col GEMM keep their folded weights
//! packed in its column panels instead (same sums, same bits).
//!
//! Folding: `scale = gamma / sqrt(var + eps)`, `w' = w · scale[channel]`,
//! `b' = (b - mean) · scale + beta`, computed in f64 and rounded once. The
//! result equals the unfused pass up to rounding, not bit for bit (tests state
//! the tolerance); a group without a BatchNorm (a clamp only) is bit-identical.

use std::sync::Arc;

use super::graph::{Graph, Purpose, Schedule, ValueId};
use super::model::grow;
use super::ops::{BatchNormFold, FusionRole, KernelTensors, Step};
use crate::conv2d;
use crate::error::KernelError;
use crate::gemm::Clamp;
use crate::geom::Conv2dGeom;
use crate::optim::ParamRange;

/// One producer whose kernel and bias are folded with a BatchNorm.
#[derive(Debug, Clone)]
struct Fold {
    /// The producer's own tensors (in the parameter buffer).
    source: KernelTensors,
    bn: BatchNormFold,
    /// Where the folded kernel and bias live in `Fusion::weights`.
    folded: KernelTensors,
    channels: usize,
    /// A convolution that keeps its transformed folded kernel: where in
    /// `Fusion::weights` (after `folded`), and the geometry to transform with.
    prepared: Option<(ParamRange, Conv2dGeom)>,
}

/// The inference graph with its folded tensors.
#[derive(Debug)]
pub struct Fusion {
    pub graph: Graph,
    /// Placement of an inference pass over `graph`.
    pub schedule: Arc<Schedule>,
    /// Steps of `graph` whose tensors are in `weights` rather than the parameters.
    pub folded_step: Vec<bool>,
    /// Values whose contents a fused pass does not produce (a producer's
    /// output before its absorbed BatchNorm or clamp).
    pub unmaterialised: Vec<bool>,
    pub weights: Vec<f32>,
    folds: Vec<Fold>,
    groups: usize,
    stale: bool,
}

/// A group found in the graph: the producer, its absorbed steps, and what it does.
struct Group {
    producer: usize,
    bn: Option<(usize, BatchNormFold)>,
    clamp: Option<(usize, Clamp)>,
}

impl Fusion {
    /// Plans a fused graph of `g` for `purpose` (inference, or training with
    /// a frozen prefix), fusing only groups whose steps all lie in `region`;
    /// the values in `protected` (the output, the loss head) stay
    /// materialised. None when nothing fuses.
    pub fn plan(g: &Graph, protected: &[ValueId], region: &[bool], purpose: Purpose<'_>) -> Result<Option<Self>, KernelError> {
        let groups = find_groups(g, protected, region);
        if groups.is_empty() {
            return Ok(None);
        }
        let mut steps = g.steps.clone();
        let mut folded_step = vec![false; g.len()];
        let mut unmaterialised = vec![false; g.len() + 1];
        let mut folds = Vec::new();
        let mut next = 0usize;
        let mut take = |len: usize| {
            let r = ParamRange { offset: next, len };
            next += len;
            r
        };
        for grp in &groups {
            let p = grp.producer;
            let source = *g.steps[p].kernel_tensors().expect("a producer has a kernel");
            let (tensors, prepared) = match grp.bn {
                Some((_, bn)) => {
                    let channels = g.shapes[p + 1].c;
                    let folded = KernelTensors { weight: take(source.weight.len), bias: Some(take(channels)), regularized: false };
                    let prepared = match &g.steps[p] {
                        Step::Conv2d(c) => c.prepared_geom().and_then(|cg| Some((take(conv2d::prepared_kernel_len(&cg)?), cg))),
                        _ => None,
                    };
                    folds.push(Fold { source, bn, folded, channels, prepared });
                    folded_step[p] = true;
                    (folded, prepared.map(|(u, _)| u))
                }
                None => (source, None),
            };
            let clamp = grp.clamp.map_or(Clamp::None, |(_, c)| c);
            steps[p] = match (&g.steps[p], prepared) {
                (Step::Conv2d(c), Some(u)) => Step::Conv2d(c.fused(tensors, clamp).with_prepared(u)),
                (step, _) => step.fused(tensors, clamp).expect("groups only pair producers with what they can run"),
            };
            let absorbed: Vec<usize> = grp.bn.map(|b| b.0).into_iter().chain(grp.clamp.map(|c| c.0)).collect();
            unmaterialised[p + 1] = true;
            for &s in &absorbed {
                steps[s] = Step::absorbed(g.shapes[s + 1]);
                unmaterialised[s + 1] = true;
            }
            // The group's last value is the one whose contents the pass produces.
            unmaterialised[absorbed.last().copied().unwrap_or(p) + 1] = false;
        }
        let graph = Graph::new(steps, g.inputs.clone(), g.shapes.clone(), g.max_batch);
        let schedule = Arc::new(graph.schedule(purpose)?);
        let mut weights = Vec::new();
        grow(&mut weights, Some(next), "folded inference weights")?;
        Ok(Some(Self { graph, schedule, folded_step, unmaterialised, weights, folds, groups: groups.len(), stale: true }))
    }

    /// Groups fused (a producer with what it absorbs).
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The trained weights or the moving statistics may have changed.
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    #[cfg(any(test, feature = "selftest"))]
    pub(crate) fn is_stale(&self) -> bool {
        self.stale
    }

    /// Recomputes the folded tensors from `params` and `state` if they may be out of date.
    pub fn refresh(&mut self, params: &[f32], state: &[f32]) {
        if !self.stale {
            return;
        }
        for f in &self.folds {
            let c = f.channels;
            let slice = |buf: &[f32], r: ParamRange| buf[r.offset..r.end()].to_vec();
            let (gamma, beta) = (slice(params, f.bn.gamma), slice(params, f.bn.beta));
            let (mean, var) = (slice(state, f.bn.moving_mean), slice(state, f.bn.moving_var));
            let scale: Vec<f64> = (0..c).map(|ch| gamma[ch] as f64 / (var[ch] as f64 + f.bn.epsilon as f64).sqrt()).collect();
            let w = f.source.kernel(params);
            let fw = f.folded.weight;
            // Kernels are [.., channels] with the output channel last (Conv2D,
            // Dense, and depthwise's [kh, kw, c, multiplier]).
            for (i, (dst, &src)) in self.weights[fw.offset..fw.end()].iter_mut().zip(w).enumerate() {
                *dst = (src as f64 * scale[i % c]) as f32;
            }
            if let Some((u, cg)) = f.prepared {
                let (head, tail) = self.weights.split_at_mut(u.offset);
                conv2d::conv2d_prepare(&cg, &head[fw.offset..fw.end()], &mut tail[..u.len]);
            }
            let b = f.source.bias(params);
            let fb = f.folded.bias.expect("folded tensors have a bias");
            for (ch, dst) in self.weights[fb.offset..fb.end()].iter_mut().enumerate() {
                let bias = b.map_or(0.0, |b| b[ch] as f64);
                *dst = ((bias - mean[ch] as f64) * scale[ch] + beta[ch] as f64) as f32;
            }
        }
        self.stale = false;
    }
}

/// Which steps read each value (by step index).
pub(super) fn readers(g: &Graph) -> Vec<Vec<usize>> {
    let mut r = vec![Vec::new(); g.len() + 1];
    for (s, inputs) in g.inputs.iter().enumerate() {
        for &v in inputs {
            r[v].push(s);
        }
    }
    r
}

fn find_groups(g: &Graph, protected: &[ValueId], region: &[bool]) -> Vec<Group> {
    let readers = readers(g);
    // The one step reading value `v`, when `v` may stay unmaterialised and
    // that step may be absorbed.
    let sole_reader = |v: ValueId| -> Option<usize> {
        match readers[v].as_slice() {
            [s] if !protected.contains(&v) && g.inputs[*s].len() == 1 && region[*s] => Some(*s),
            _ => None,
        }
    };
    let mut groups = Vec::new();
    for p in (0..g.len()).filter(|&p| region[p]) {
        let FusionRole::Producer { epilogue } = g.steps[p].fusion_role() else { continue };
        let mut grp = Group { producer: p, bn: None, clamp: None };
        let mut tail = p;
        if let Some(s) = sole_reader(p + 1) {
            if let FusionRole::BatchNorm(bn) = g.steps[s].fusion_role() {
                grp.bn = Some((s, bn));
                tail = s;
            }
        }
        if epilogue {
            if let Some(s) = sole_reader(tail + 1) {
                if let FusionRole::Clamp(c) = g.steps[s].fusion_role() {
                    grp.clamp = Some((s, c));
                }
            }
        }
        if grp.bn.is_some() || grp.clamp.is_some() {
            groups.push(grp);
        }
    }
    groups
}
