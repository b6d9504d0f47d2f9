/**
 * Asset locations in Node: setWasmPaths (a folder, or one location per
 * asset) and Engine.create's per-engine options, and the errors when an
 * asset is not where it was said to be (they name the path and what to check).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, Engine, RuntimeError, setWasmPaths } from '@lite-cnn/sdk';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const gemm = (engine: Engine) => engine.gemm({ m: 1, k: 2, n: 1, a: new Float32Array([1, 2]), b: new Float32Array([3, 4]) });

async function creationError(options?: Parameters<typeof Engine.create>[0]): Promise<unknown> {
  try {
    const engine = await Engine.create(options);
    await engine.shutdown();
  } catch (err) {
    return err;
  }
  throw new Error('expected Engine.create to fail');
}

describe('setWasmPaths', () => {
  afterEach(() => setWasmPaths(undefined));

  it('rejects a folder without a trailing slash and unknown keys, naming them', () => {
    expect(() => setWasmPaths('/srv/lite-cnn')).toThrow(ConfigError);
    expect(() => setWasmPaths('/srv/lite-cnn')).toThrow(/expected a folder ending in '\/'.*got '\/srv\/lite-cnn'/);
    expect(() => setWasmPaths({ wasm: 'x' } as never)).toThrow(/expected only the keys threaded, single, threaded-relaxed, single-relaxed, worker, got 'wasm'/);
  });

  it('loads the artifact and the pool worker from another folder, and back from the defaults after undefined', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'lite-cnn-assets-'));
    try {
      for (const f of ['lite_cnn_threaded.wasm', 'lite-cnn-pool-worker.js']) copyFileSync(join(dist, f), join(folder, f));
      setWasmPaths(`${folder}/`);
      const engine = await Engine.create({ threads: 2 });
      expect(engine.artifact).toBe('threaded');
      expect(Array.from(gemm(engine))).toEqual([11]);
      await engine.shutdown();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    // The folder is gone: only the defaults can work now.
    setWasmPaths(undefined);
    const engine = await Engine.create({ threads: 1 });
    expect(Array.from(gemm(engine))).toEqual([11]);
    await engine.shutdown();
  });

  it('a missing artifact is a RuntimeError naming the path it tried', async () => {
    setWasmPaths('/nowhere/lite-cnn/');
    const err = await creationError();
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toMatch(/cannot read the threaded wasm artifact at \/nowhere\/lite-cnn\/lite_cnn_threaded\.wasm \(ENOENT.*setWasmPaths\(\)/);
  });

  it('a per-asset worker location that does not exist names the URL, and Engine.create options win over setWasmPaths', async () => {
    setWasmPaths({ worker: '/nowhere/pool.js' });
    expect((await creationError({ threads: 1 }) as Error).message).toMatch(/pool worker 0 failed to start from \/nowhere\/pool\.js: .*workerUrl or setWasmPaths\(\)/);
    const engine = await Engine.create({ threads: 1, workerUrl: new URL('lite-cnn-pool-worker.js', `file://${dist}`) });
    expect(Array.from(gemm(engine))).toEqual([11]);
    await engine.shutdown();
  });
});
