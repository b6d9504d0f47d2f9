// Runs in a dedicated Worker: create the engine (threaded when the page is
// cross-origin isolated, single-threaded otherwise) and compute a fixed GEMM.
import { Engine } from '/ts/sdk/dist/index.browser.js';
import { gemmInputs } from './gemm-inputs.js';

const threads = Number(new URLSearchParams(self.location.search).get('threads') ?? '2');
try {
  const engine = await Engine.create({ threads });
  const { m, k, n, a, b, bias } = gemmInputs();
  const c = engine.gemm({ m, k, n, a, b, bias });
  self.postMessage({
    crossOriginIsolated: self.crossOriginIsolated,
    artifact: engine.artifact,
    threads: engine.threads,
    simd: engine.simd,
    c: Array.from(c),
  });
  await engine.shutdown();
} catch (err) {
  self.postMessage({ error: String(err && err.stack ? err.stack : err) });
}
