import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Engine, RuntimeError } from '@lite-cnn/sdk';

// The selftest artifact exports lc_selftest_trap_in_pool, which panics (traps)
// on one pool worker while the controller waits for the call.
const selftestWasm = new URL('../wasm/lite_cnn_selftest.wasm', import.meta.url);

describe('a trap in a pool worker', () => {
  it('becomes a thrown RuntimeError carrying the panic message, never a hang', async () => {
    // Built by `npm run build:selftest` (npm test and CI do it): a missing file is a setup mistake, not a pass.
    if (!existsSync(selftestWasm)) throw new Error(`${fileURLToPath(selftestWasm)} is missing: run \`npm run build:selftest\` first (npm test does)`);
    const module = await WebAssembly.compile(readFileSync(selftestWasm));
    const engine = await Engine.create({ threads: 2, artifact: 'threaded', wasm: { threaded: module } });
    const raw = engine.raw as unknown as { lc_selftest_trap_in_pool(): number };
    const t0 = Date.now();
    expect(() => engine.call('trap test', () => raw.lc_selftest_trap_in_pool())).toThrow(RuntimeError);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The engine is unusable afterwards and says why.
    let message = '';
    try {
      engine.gemm({ m: 1, k: 1, n: 1, a: new Float32Array(1), b: new Float32Array(1) });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/unusable after an earlier failure .*pool worker trapped during trap test: [\s\S]*deliberate trap on pool thread 1/);
    await engine.shutdown();
  });
});
