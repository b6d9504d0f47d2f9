//! The model's graph (which values each step reads) and its schedules: for a
//! kind of call (training with some steps frozen, inference, inspection,
//! backward from a step), which steps run backward, where each activation and
//! each activation gradient lives, and whether a step's input gradient
//! overwrites its buffer or adds to it.
//!
//! Time runs over the forward steps (`0..S`), the loss (`S`) and the backward
//! steps (step `i` at `2S - i`). Each buffer is live from the time it is
//! written to the last time it is read; buffers whose lives overlap get
//! disjoint places in one arena (greedy by size), so a frozen backbone or an
//! inference pass reuses memory that training keeps.

use super::ops::{Shape3, Step};
use crate::error::{ErrorCode, KernelError};

/// Value 0 is the model input; value `i + 1` is the output of step `i`.
pub type ValueId = usize;

/// Elements of padding between placed buffers: keeps every buffer 64-byte aligned.
const ALIGN: usize = 16;

/// The planned graph: steps in topological order and the values they read.
#[derive(Debug, Clone)]
pub struct Graph {
    pub steps: Vec<Step>,
    /// Value ids each step reads.
    pub inputs: Vec<Vec<ValueId>>,
    /// Per-sample shape of every value.
    pub shapes: Vec<Shape3>,
    /// The value whose buffer holds each value (itself, or what an aliasing
    /// step like Flatten reads).
    pub root: Vec<ValueId>,
    pub max_batch: usize,
}

impl Graph {
    /// A graph of planned steps; each value's buffer root follows from which
    /// steps alias their input.
    pub fn new(steps: Vec<Step>, inputs: Vec<Vec<ValueId>>, shapes: Vec<Shape3>, max_batch: usize) -> Self {
        let mut root = vec![0];
        for (i, step) in steps.iter().enumerate() {
            root.push(if step.aliases_input() { root[inputs[i][0]] } else { i + 1 });
        }
        Graph { steps, inputs, shapes, root, max_batch }
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Elements of a value's buffer at the largest batch.
    pub fn value_len(&self, v: ValueId) -> usize {
        self.shapes[v].size().saturating_mul(self.max_batch)
    }
}

/// Offsets of root values in an arena (`None`: not placed in this schedule).
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub offset: Vec<Option<usize>>,
    pub len: usize,
}

impl Placement {
    pub fn get(&self, root: ValueId) -> Option<usize> {
        self.offset.get(root).copied().flatten()
    }
}

/// Where an input gradient goes during a step's backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Not needed, not computed.
    None,
    /// Written straight into the value's gradient buffer (its first writer).
    Overwrite,
    /// Written into the temporary buffer at this offset, then added to the
    /// value's gradient (a later writer: the value feeds several steps).
    Accumulate { tmp: usize },
    /// Written into the temporary buffer and dropped (the kernel computes it
    /// anyway, e.g. BatchNorm; nothing below needs it).
    Discard { tmp: usize },
}

/// How one kind of call runs the graph.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Steps whose backward runs, and which of them compute parameter gradients.
    pub backprop: Vec<bool>,
    pub param_grads: Vec<bool>,
    /// Per step, per input.
    pub sinks: Vec<Vec<Sink>>,
    pub acts: Placement,
    pub grads: Placement,
    /// Elements of the temporary gradient buffer.
    pub tmp_len: usize,
}

/// What a schedule is for.
pub enum Purpose<'a> {
    /// Forward only; `keep_all` keeps every activation (feature maps, Grad-CAM),
    /// otherwise only the output and the loss head survive the pass.
    Forward { keep_all: bool, head: ValueId },
    /// Forward, loss on `head`, backward into every trainable step.
    Train { head: ValueId, fused_last: bool, frozen: &'a [bool] },
    /// After a kept forward: gradient of the output of step `from` down to value `stop`.
    BackwardFrom { from: usize, stop: ValueId },
}

impl Graph {
    /// Which values have a trainable step upstream (their gradient flows into
    /// some parameter), for a set of frozen steps. The steps whose output has
    /// none form the frozen prefix: nothing there needs a gradient.
    pub fn upstream_trainable(&self, frozen: &[bool]) -> Vec<bool> {
        let mut up = vec![false; self.len() + 1];
        for (s, step) in self.steps.iter().enumerate() {
            let own = step.has_params() && !frozen.get(s).copied().unwrap_or(false);
            up[s + 1] = own || self.inputs[s].iter().any(|&v| up[v]);
        }
        up
    }

    /// Values that depend on `stop` (itself included).
    fn downstream_of(&self, stop: ValueId) -> Vec<bool> {
        let mut down = vec![false; self.len() + 1];
        down[stop] = true;
        for s in 0..self.len() {
            if self.inputs[s].iter().any(|&v| down[v]) {
                down[s + 1] = true;
            }
        }
        down
    }

    /// Steps whose output reaches the output of step `from` (itself included).
    fn upstream_of(&self, from: usize) -> Vec<bool> {
        let mut need = vec![false; self.len() + 1];
        need[from + 1] = true;
        for s in (0..=from).rev() {
            if need[s + 1] {
                for &v in &self.inputs[s] {
                    need[v] = true;
                }
            }
        }
        need
    }

    pub fn schedule(&self, purpose: Purpose<'_>) -> Result<Schedule, KernelError> {
        let n = self.len();
        let mut backprop = vec![false; n];
        let mut param_grads = vec![false; n];
        // Which values need a gradient, where the backward pass starts, and
        // which gradient is read after it (a backward-from's stop value).
        let (wants_grad, start, keep_all, loss_head, result): (Vec<bool>, Option<ValueId>, bool, Option<ValueId>, Option<ValueId>) = match purpose {
            Purpose::Forward { keep_all, head } => (vec![false; n + 1], None, keep_all, Some(head), None),
            Purpose::Train { head, fused_last, frozen } => {
                let up = self.upstream_trainable(frozen);
                for s in 0..n {
                    let fused = fused_last && s == n - 1;
                    backprop[s] = up[s + 1] && !fused && !self.steps[s].aliases_input();
                    param_grads[s] = backprop[s] && self.steps[s].has_params() && !frozen.get(s).copied().unwrap_or(false);
                }
                (up, Some(head), false, Some(head), None)
            }
            Purpose::BackwardFrom { from, stop } => {
                let (down, reach) = (self.downstream_of(stop), self.upstream_of(from));
                let on_path: Vec<bool> = (0..=n).map(|v| down[v] && reach[v]).collect();
                for s in 0..=from {
                    backprop[s] = on_path[s + 1] && s + 1 != stop && !self.steps[s].aliases_input();
                }
                (on_path, Some(from + 1), true, None, Some(stop))
            }
        };
        let root = |v: ValueId| self.root[v];
        // A backward-from may stop at a value that is the model input's
        // buffer (a Flatten of the input): then the input gets a gradient.
        let input_grad = result.is_some_and(|v| root(v) == 0);
        // Input gradient sinks, in backward order: the first writer of a
        // value's gradient overwrites it, later writers add to it.
        let mut written = vec![false; n + 1];
        if let Some(v) = start {
            written[root(v)] = true;
        }
        let mut sinks = vec![Vec::new(); n];
        let mut tmp_len = 0;
        for s in (0..n).rev() {
            sinks[s] = vec![Sink::None; self.inputs[s].len()];
            if !backprop[s] {
                continue;
            }
            let mut tmp = 0;
            for (k, &v) in self.inputs[s].iter().enumerate() {
                let r = root(v);
                let needed = wants_grad[v] && (r != 0 || input_grad);
                sinks[s][k] = if needed && !written[r] {
                    written[r] = true;
                    Sink::Overwrite
                } else if needed || self.steps[s].needs_dx_sink() {
                    let at = tmp;
                    tmp += align(self.value_len(v));
                    if needed { Sink::Accumulate { tmp: at } } else { Sink::Discard { tmp: at } }
                } else {
                    Sink::None
                };
            }
            tmp_len = tmp_len.max(tmp);
        }
        let acts = self.place_activations(&backprop, keep_all, loss_head)?;
        let grads = self.place_gradients(&backprop, &sinks, start, result, input_grad)?;
        Ok(Schedule { backprop, param_grads, sinks, acts, grads, tmp_len })
    }

    /// Lives of activation buffers: from the producing step to the last read.
    fn place_activations(&self, backprop: &[bool], keep_all: bool, loss_head: Option<ValueId>) -> Result<Placement, KernelError> {
        let n = self.len();
        let end_of_call = usize::MAX;
        let bwd_time = |s: usize| 2 * n - s;
        let mut life: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        for s in 0..n {
            if !self.steps[s].aliases_input() {
                life[s + 1] = Some((s, if keep_all { end_of_call } else { s }));
            }
        }
        let mut extend = |v: ValueId, t: usize| {
            if let Some((_, e)) = life[self.root[v]].as_mut() {
                *e = (*e).max(t);
            }
        };
        for s in 0..n {
            let reads = self.steps[s].backward_reads();
            for &v in &self.inputs[s] {
                extend(v, s);
                if backprop[s] && reads.inputs {
                    extend(v, bwd_time(s));
                }
            }
            if backprop[s] && reads.output {
                extend(s + 1, bwd_time(s));
            }
        }
        if let Some(h) = loss_head {
            extend(h, n);
        }
        extend(n, end_of_call); // the caller reads the model's output
        pack(self, &life)
    }

    /// Lives of gradient buffers: from the first writer (the loss, or the
    /// last consumer's backward) to the producer's backward, which reads it.
    /// `result`: a gradient read after the pass (a backward-from's stop value).
    fn place_gradients(&self, backprop: &[bool], sinks: &[Vec<Sink>], start: Option<ValueId>, result: Option<ValueId>, input_grad: bool) -> Result<Placement, KernelError> {
        let n = self.len();
        let bwd_time = |s: usize| 2 * n - s;
        let mut life: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        let mut touch = |v: ValueId, t: usize| {
            let slot = &mut life[self.root[v]];
            *slot = Some(match *slot {
                None => (t, t),
                Some((a, b)) => (a.min(t), b.max(t)),
            });
        };
        if let Some(v) = start {
            touch(v, n);
        }
        for s in (0..n).rev() {
            if !backprop[s] {
                continue;
            }
            touch(s + 1, bwd_time(s)); // reads dy
            for (k, &v) in self.inputs[s].iter().enumerate() {
                if matches!(sinks[s][k], Sink::Overwrite | Sink::Accumulate { .. }) {
                    touch(v, bwd_time(s));
                }
            }
        }
        if let Some(v) = result {
            touch(v, usize::MAX);
        }
        if !input_grad {
            life[0] = None; // the model input gets no gradient buffer
        }
        pack(self, &life)
    }
}

fn align(len: usize) -> usize {
    len.div_ceil(ALIGN).saturating_mul(ALIGN)
}

/// Greedy by size: each buffer, largest first, at the lowest offset that no
/// already placed buffer with an overlapping life occupies.
fn pack(g: &Graph, life: &[Option<(usize, usize)>]) -> Result<Placement, KernelError> {
    let mut order: Vec<ValueId> = (0..life.len()).filter(|&v| life[v].is_some()).collect();
    order.sort_by(|&a, &b| g.value_len(b).cmp(&g.value_len(a)).then(a.cmp(&b)));
    let mut offset = vec![None; life.len()];
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new(); // (offset, len, start, end)
    let mut total = 0usize;
    for v in order {
        let (s, e) = life[v].expect("filtered");
        let len = align(g.value_len(v));
        let mut busy: Vec<(usize, usize)> = placed.iter().filter(|p| p.2 <= e && s <= p.3).map(|p| (p.0, p.0 + p.1)).collect();
        busy.sort_unstable();
        let mut at = 0usize;
        for (a, b) in busy {
            if at.saturating_add(len) <= a {
                break;
            }
            at = at.max(b);
        }
        let end = at.checked_add(len).ok_or_else(|| KernelError { code: ErrorCode::OutOfMemory, message: "model: activation arena size overflows".into() })?;
        total = total.max(end);
        offset[v] = Some(at);
        placed.push((at, len, s, e));
    }
    Ok(Placement { offset, len: total })
}
