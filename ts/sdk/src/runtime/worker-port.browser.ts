/** The pool worker's channel to its controller in a browser Worker. */
import type { WorkerInit, WorkerPort } from './pool-protocol.js';
import type * as NodeTwin from './worker-port.node.js';

export function workerPort(): WorkerPort {
  const scope = globalThis as unknown as {
    postMessage(msg: unknown): void;
    addEventListener(type: 'message', fn: (e: MessageEvent<WorkerInit>) => void, opts?: { once: boolean }): void;
  };
  return {
    post: (msg) => scope.postMessage(msg),
    onInit: (handler) => scope.addEventListener('message', (e) => handler(e.data), { once: true }),
  };
}

// The two builds must offer the same API: checked here, at compile time.
workerPort satisfies typeof NodeTwin.workerPort;
