// Shared by the benchmark workers (imported by the module workers, loaded with
// import() by the classic TF.js worker): timing in timing.mjs' way, and
// "marks" around each measurement so browser-run.mjs can read /proc/stat.
import { settings, time } from '/benches/peers/timing.mjs';

/** Waits for the page (and the Node runner behind it) to record a mark. */
function mark(m) {
  return new Promise((resolve) => {
    const onAck = (e) => {
      if (e.data && e.data.marked) {
        self.removeEventListener('message', onAck);
        resolve();
      }
    };
    self.addEventListener('message', onAck);
    self.postMessage({ mark: m });
  });
}

/** Returns measure(label, run) -> { ms, n, label } with marks around it, and a `fail` helper. */
export function measurer(quick) {
  const s = settings(quick);
  return async function measure(label, run) {
    try {
      await mark({ begin: label });
      const t = await time(run, s);
      await mark({ end: label });
      return { ...t, label };
    } catch (e) {
      return { error: String((e && e.message) || e).split('\n')[0].slice(0, 200), label };
    }
  };
}

/** Waits for the page's { threads, quick } message. */
export function config() {
  return new Promise((resolve) => {
    const on = (e) => {
      if (e.data && e.data.threads) {
        self.removeEventListener('message', on);
        resolve(e.data);
      }
    };
    self.addEventListener('message', on);
  });
}
