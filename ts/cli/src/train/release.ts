/**
 * Frees the wasm memory of models that are no longer referenced. The SDK
 * releases a model's arena from a FinalizationRegistry, i.e. after V8
 * garbage-collects the JS object — but V8 does not see wasm memory pressure,
 * so a loop that builds a fresh 319k-parameter model per fold (--cv) can run
 * out of the 1 GiB wasm memory before any collection happens. Between folds
 * we force a collection and let the finalizers run.
 * (SDK wish: an explicit `Sequential.dispose()`; then this goes.)
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

export async function releaseUnreachableModels(): Promise<void> {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 2; i++) {
    gc();
    // FinalizationRegistry callbacks run as tasks after the collection.
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}
