/** Messages between the controller and a pool worker (runtime/worker.ts). */

export interface WorkerInit {
  type: 'init';
  index: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Top of this worker's private stack (the stack grows down). */
  stackTop: number;
  /** This worker's private TLS block. */
  tlsBase: number;
  /** Words a trapped worker sets and notifies so the controller stops waiting. */
  faultFlagPtr: number;
  doneFlagPtr: number;
}

export type WorkerReport =
  | { type: 'started'; index: number }
  | { type: 'fault'; index: number; message: string };

/** A started pool worker, whatever the host (spawn-worker.node.ts / spawn-worker.browser.ts). */
export interface PoolWorker {
  post(msg: WorkerInit): void;
  onReport(handler: (msg: WorkerReport) => void): void;
  /** A load or start failure; `detail` is the host's message (a browser may give none). */
  onError(handler: (detail: string | undefined, cause: unknown) => void): void;
  unref(): void;
  terminate(): Promise<void>;
}

export interface SpawnedWorker {
  worker: PoolWorker;
  /** Where the script came from, for error messages. */
  url: string;
}

/** A pool worker's side of the channel (worker-port.node.ts / worker-port.browser.ts). */
export interface WorkerPort {
  post(msg: WorkerReport): void;
  onInit(handler: (msg: WorkerInit) => void): void;
}
