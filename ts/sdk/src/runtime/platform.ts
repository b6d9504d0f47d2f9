/**
 * What the runtime needs to know about where it runs: Node or a browser
 * context, whether this thread may block, and how many cores there are.
 */

export type HostKind = 'node' | 'browser-worker' | 'browser-main';

export function hostKind(): HostKind {
  if (typeof process !== 'undefined' && typeof process.versions?.node === 'string') return 'node';
  // A dedicated/shared worker has no `document`; WorkerGlobalScope is the tell.
  const g = globalThis as { WorkerGlobalScope?: unknown; document?: unknown };
  if (typeof g.WorkerGlobalScope !== 'undefined' && typeof g.document === 'undefined') return 'browser-worker';
  return 'browser-main';
}

/** True when SharedArrayBuffer (and so the threaded artifact) is usable. */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean };
  // Node has no crossOriginIsolated; browsers require it for shared memory.
  return hostKind() === 'node' || g.crossOriginIsolated === true;
}

export async function defaultThreadCount(): Promise<number> {
  if (hostKind() === 'node') {
    const os = await import('node:os');
    return os.availableParallelism();
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 1;
}
