/**
 * Starts the pool workers for the threaded artifact ("variant B" of
 * docs/wasm-threads.md §5): allocate each worker's stack and
 * TLS block, start it, wait until every worker reported 'started' (the
 * controller must yield here: a browser does not start a nested Worker until
 * its creator returns to the event loop), then build rayon's global pool.
 */
import { RuntimeError } from '../errors.js';
import { ErrorCode } from './error-codes.js';
import type { ThreadedExports } from './exports.js';
import type { WasmHeap } from './memory.js';
import type { PoolWorker } from './pool-protocol.js';
import { spawnPoolWorker, WORKER_LOAD_HINT } from './spawn-worker.node.js';

/** Stack per worker; kernels do not recurse deeply and never put big arrays on the stack. */
const WORKER_STACK_BYTES = 1 << 20;
const STARTUP_TIMEOUT_MS = 30_000;

export class WorkerPool {
  private constructor(
    private readonly workers: PoolWorker[],
    readonly threads: number,
  ) {
    // A worker that traps after start-up is reported through the FAULT word
    // and its panic message in shared memory (Engine.call), not by message.
    for (const w of workers) w.unref();
  }

  static async start(opts: {
    module: WebAssembly.Module;
    heap: WasmHeap;
    exports: ThreadedExports;
    threads: number;
    /** The pool worker script (default: beside the SDK, or setWasmPaths). */
    workerUrl: string | URL | undefined;
  }): Promise<WorkerPool> {
    const { module, heap, exports: ex, threads } = opts;
    const tlsSize = ex.__tls_size.value as number;
    const tlsAlign = ex.__tls_align.value as number;
    const workers: PoolWorker[] = [];
    const started: Promise<void>[] = [];
    try {
      for (let index = 0; index < threads; index++) {
        const stack = heap.alloc(WORKER_STACK_BYTES, 16);
        const tls = heap.alloc(Math.max(tlsSize, 1), Math.max(tlsAlign, 1));
        const { worker: w, url } = spawnPoolWorker(opts.workerUrl);
        workers.push(w);
        started.push(
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new RuntimeError(`Engine: pool worker ${index} (${url}) did not start within ${STARTUP_TIMEOUT_MS} ms; ${WORKER_LOAD_HINT}`)),
              STARTUP_TIMEOUT_MS,
            );
            w.onReport((msg) => {
              if (msg.type === 'started') {
                clearTimeout(timer);
                resolve();
              } else if (msg.type === 'fault') {
                clearTimeout(timer);
                reject(new RuntimeError(`Engine: pool worker ${index} (${url}) failed to start: ${msg.message}`));
              }
            });
            w.onError((detail, cause) => {
              clearTimeout(timer);
              const what = detail ?? 'the script did not load';
              reject(new RuntimeError(`Engine: pool worker ${index} failed to start from ${url}: ${what}; ${WORKER_LOAD_HINT}`, { cause }));
            });
          }),
        );
        w.post({
          type: 'init',
          index,
          module,
          memory: heap.memory,
          stackTop: stack + WORKER_STACK_BYTES,
          tlsBase: tls,
          faultFlagPtr: ex.lc_fault_flag_ptr(),
          doneFlagPtr: ex.lc_done_flag_ptr(),
        });
      }
      await Promise.all(started);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    const code = ex.lc_pool_build(threads);
    if (code !== ErrorCode.Ok) {
      await Promise.all(workers.map((w) => w.terminate()));
      const len = ex.lc_last_error_len();
      throw new RuntimeError(`Engine: building the thread pool failed: ${heap.utf8(ex.lc_last_error_ptr(), len)}`);
    }
    return new WorkerPool(workers, threads);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
