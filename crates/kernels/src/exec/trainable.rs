//! Where the gradients and optimizer slots of the trainable parameters live.
//!
//! Parameters stay one flat buffer in step order; gradients and each
//! optimizer slot are *compact*: only the trainable parameters, run after run
//! (a run is a maximal stretch of trainable parameters in the parameter
//! buffer). A frozen backbone then costs no gradient or optimizer memory, and
//! a model with every step trainable has one run whose compact offsets equal
//! its parameter offsets (the buffers are laid out exactly as before).

use super::ops::Step;
use super::spec::OptimizerKind;
use crate::optim::ParamRange;

/// A run of trainable parameters and where its gradients (and slots) start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainRun {
    /// The run in the parameter buffer.
    pub params: ParamRange,
    /// Its first value's offset in the compact gradient and slot buffers.
    pub at: usize,
}

impl TrainRun {
    /// The run in the compact buffers.
    pub fn compact(&self) -> ParamRange {
        ParamRange { offset: self.at, len: self.params.len }
    }

    /// `ranges` (sorted, in the parameter buffer) that lie inside this run,
    /// relative to its start.
    pub fn inside(&self, ranges: &[ParamRange]) -> Vec<ParamRange> {
        let run = self.params;
        ranges.iter().filter(|k| k.offset >= run.offset && k.end() <= run.end()).map(|k| ParamRange { offset: k.offset - run.offset, len: k.len }).collect()
    }
}

/// The compact layout for one set of frozen steps and one optimizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainableLayout {
    pub runs: Vec<TrainRun>,
    /// Per step: where its parameter gradients start in the compact buffer
    /// (steps with trainable parameters only).
    pub step_at: Vec<Option<usize>>,
    /// Trainable parameters: the length of the gradient buffer.
    pub len: usize,
    /// Optimizer slots kept per trainable parameter: 0 (plain SGD), 1 (SGD
    /// velocity) or 2 (Adam's moments).
    pub slots: usize,
}

impl TrainableLayout {
    pub fn plan(steps: &[Step], frozen: &[bool], optimizer: &OptimizerKind) -> Self {
        let mut runs: Vec<TrainRun> = Vec::new();
        let mut step_at = vec![None; steps.len()];
        let mut len = 0;
        for (s, step) in steps.iter().enumerate() {
            let Some(span) = step.param_span().filter(|_| !frozen[s]) else { continue };
            step_at[s] = Some(len);
            match runs.last_mut() {
                Some(r) if r.params.end() == span.offset => r.params.len += span.len,
                _ => runs.push(TrainRun { params: span, at: len }),
            }
            len += span.len;
        }
        let slots = match optimizer {
            OptimizerKind::Sgd(h) if h.momentum > 0.0 => 1,
            OptimizerKind::Sgd(_) => 0,
            OptimizerKind::Adam(_) | OptimizerKind::AdamW(..) => 2,
        };
        Self { runs, step_at, len, slots }
    }

    /// The runs in the compact buffers (what clipping and the norm read).
    pub fn compact_runs(&self) -> Vec<ParamRange> {
        self.runs.iter().map(TrainRun::compact).collect()
    }

    /// Elements of optimizer slot `slot` (1 or 2); 0 when the optimizer keeps no such slot.
    pub fn slot_len(&self, slot: usize) -> usize {
        if slot <= self.slots {
            self.len
        } else {
            0
        }
    }
}
