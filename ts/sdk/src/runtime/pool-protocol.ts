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
