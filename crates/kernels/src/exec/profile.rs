//! Per-step wall-clock times of a model's passes, recorded while profiling is
//! on (`Model::set_profiling`): how long each executor step's forward and
//! backward took, summed over the passes since profiling was turned on, and
//! how many times each ran. A step fused into its producer (a folded
//! BatchNorm, a ReLU in a convolution's epilogue) never runs, so its count
//! stays 0 and the producer's time includes it. Off, the passes read no clock.
//!
//! The clock is the host's: in wasm an imported `env.lc_now_ms` (the SDK
//! passes `performance.now`, which every thread has; differences are taken
//! on the thread that runs the pass), natively `std::time::Instant`.

/// Which pass a time belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// Summed milliseconds and run counts per step, for each direction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepTimes {
    forward_ms: Vec<f64>,
    forward_runs: Vec<u32>,
    backward_ms: Vec<f64>,
    backward_runs: Vec<u32>,
}

impl StepTimes {
    pub fn new(steps: usize) -> Self {
        Self { forward_ms: vec![0.0; steps], forward_runs: vec![0; steps], backward_ms: vec![0.0; steps], backward_runs: vec![0; steps] }
    }

    pub fn steps(&self) -> usize {
        self.forward_ms.len()
    }

    /// Adds one run of step `step` that started at `started` (`now_ms`).
    pub fn record(&mut self, direction: Direction, step: usize, started: f64) {
        let elapsed = (now_ms() - started).max(0.0);
        let (ms, runs) = match direction {
            Direction::Forward => (&mut self.forward_ms, &mut self.forward_runs),
            Direction::Backward => (&mut self.backward_ms, &mut self.backward_runs),
        };
        if let (Some(ms), Some(runs)) = (ms.get_mut(step), runs.get_mut(step)) {
            *ms += elapsed;
            *runs += 1;
        }
    }

    pub fn ms(&self, direction: Direction) -> &[f64] {
        match direction {
            Direction::Forward => &self.forward_ms,
            Direction::Backward => &self.backward_ms,
        }
    }

    pub fn runs(&self, direction: Direction) -> &[u32] {
        match direction {
            Direction::Forward => &self.forward_runs,
            Direction::Backward => &self.backward_runs,
        }
    }
}

/// Milliseconds on a monotonic clock with an arbitrary origin.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn lc_now_ms() -> f64;
    }
    // SAFETY: an imported host function without arguments or memory access.
    unsafe { lc_now_ms() }
}

/// Milliseconds on a monotonic clock with an arbitrary origin.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}
