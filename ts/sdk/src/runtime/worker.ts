/**
 * A pool worker (Node worker_threads or a browser Worker). It instantiates the
 * kernel module on the shared memory, sets up its own stack and TLS block
 * before any Rust code runs, reports 'started', then parks in
 * `lc_worker_park_and_run`, where it serves the rayon pool for good.
 *
 * If the worker traps, the controller is blocked inside wasm waiting for the
 * call to finish and would never see an 'error' event. So the trap is caught
 * here: set the fault word and notify the word the controller waits on; the
 * controller then returns an error (crates/kernels/src/ffi/pool.rs).
 */
import type { ThreadedExports } from './exports.js';
import type { WorkerInit, WorkerReport } from './pool-protocol.js';

type Port = { post(msg: WorkerReport): void; onInit(handler: (msg: WorkerInit) => void): void };

async function port(): Promise<Port> {
  if (typeof process !== 'undefined' && typeof process.versions?.node === 'string') {
    const { parentPort } = await import('node:worker_threads');
    if (!parentPort) throw new Error('lite-cnn worker: not started as a worker thread');
    return {
      post: (msg) => parentPort.postMessage(msg),
      onInit: (handler) => parentPort.once('message', handler),
    };
  }
  const scope = globalThis as unknown as {
    postMessage(msg: unknown): void;
    addEventListener(type: 'message', fn: (e: MessageEvent<WorkerInit>) => void, opts?: { once: boolean }): void;
  };
  return {
    post: (msg) => scope.postMessage(msg),
    onInit: (handler) => scope.addEventListener('message', (e) => handler(e.data), { once: true }),
  };
}

function run(init: WorkerInit, post: Port['post']): void {
  const { module, memory } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const ex = instance.exports as unknown as ThreadedExports;
  // Order matters (toolchain doc §4): the stack first, then the private TLS
  // block; until both are set no Rust code may run in this instance.
  ex.__stack_pointer.value = init.stackTop;
  ex.__wasm_init_tls(init.tlsBase);
  post({ type: 'started', index: init.index });
  try {
    ex.lc_worker_park_and_run();
  } catch (err) {
    const words = new Int32Array(memory.buffer);
    Atomics.store(words, init.faultFlagPtr >>> 2, 1);
    Atomics.notify(words, init.doneFlagPtr >>> 2);
    post({ type: 'fault', index: init.index, message: err instanceof Error ? err.message : String(err) });
  }
}

const p = await port();
p.onInit((init) => {
  // Leave the message handler first so 'started' is flushed before blocking.
  setTimeout(() => run(init, p.post), 0);
});
