/** The pool worker's channel to its controller in Node (browser twin: worker-port.browser.ts). */
import { parentPort } from 'node:worker_threads';
import type { WorkerPort } from './pool-protocol.js';

export function workerPort(): WorkerPort {
  const port = parentPort;
  if (!port) throw new Error('lite-cnn pool worker: not started as a worker thread');
  return {
    post: (msg) => port.postMessage(msg),
    onInit: (handler) => port.once('message', handler),
  };
}
