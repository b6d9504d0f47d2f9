//! Training fusion: in a training step, a BatchNorm followed by a ReLU runs
//! as one step (`batchnorm::BatchNormOutput::Relu` and
//! `batchnorm::OutputGrad::Relu`): the forward clamps as it normalises, the backward
//! applies the ReLU's mask inside BatchNorm's own passes, recomputed from the
//! BatchNorm's input with the forward's beta and saved scale.
//! That removes the ReLU's pass over the activations in each direction, and
//! its output and gradient buffers.
//!
//! Planned once per training configuration: a second graph in which the
//! BatchNorm carries the ReLU and the ReLU step is absorbed (an alias of the
//! BatchNorm's output, like a Flatten), so its value and its gradient share
//! the BatchNorm output's buffers and the schedule and executor need nothing
//! new. Only training steps run this graph; inference, evaluation, inspection
//! and `backward_from` run the model's own graph (inference possibly fused,
//! see `fusion`).
//!
//! A pair is a trainable (not frozen: a frozen BatchNorm runs in inference
//! mode) BatchNorm whose output only a plain ReLU reads and that is neither the
//! model's output nor the loss head. The fused kernels compute each element
//! exactly as the two steps do, so a fused training step is bit-identical to
//! an unfused one (tests compare them bit for bit).

use super::fusion::readers;
use super::graph::{Graph, ValueId};
use super::ops::Step;

/// The training graph of `g` with every BatchNorm → ReLU pair fused, for the
/// `frozen` steps (empty: none) and the values that must keep their own
/// contents (`protected`: the output and the loss head); None when no pair fuses.
pub fn plan(g: &Graph, frozen: &[bool], protected: &[ValueId]) -> Option<Graph> {
    let readers = readers(g);
    let mut steps = g.steps.clone();
    let mut fused_any = false;
    for b in 0..g.len() {
        let v = b + 1;
        let [r] = readers[v].as_slice() else { continue };
        if protected.contains(&v) || frozen.get(b).copied().unwrap_or(false) || g.inputs[*r] != [v] {
            continue;
        }
        if let Some(fused) = g.steps[b].with_fused_relu(&g.steps[*r]) {
            steps[b] = fused;
            steps[*r] = Step::absorbed(g.shapes[r + 1]);
            fused_any = true;
        }
    }
    fused_any.then(|| Graph::new(steps, g.inputs.clone(), g.shapes.clone(), g.max_batch))
}
