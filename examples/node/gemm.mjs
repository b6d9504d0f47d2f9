// The engine's first kernel from user code: a matrix product on the wasm
// thread pool, fed through buffers that live in wasm memory (no copies).
import { Engine } from '@lite-cnn/sdk';

const engine = await Engine.create(); // threads: available parallelism
console.log(`engine: ${engine.artifact} artifact, ${engine.threads} threads, SIMD128 ${engine.simd}`);

const [m, k, n] = [3, 2, 2];
const a = engine.allocF32(m * k).set([1, 2, 3, 4, 5, 6]);
const b = engine.allocF32(k * n).set([1, 0, 0, 1]); // identity
const bias = engine.allocF32(n).set([0.5, -0.5]);
const c = engine.allocF32(m * n);
engine.gemmInto({ m, k, n, a, b, bias, c });
console.log('A·I + bias =', Array.from(c.view()));

// Or with plain arrays (copied in and out):
console.log(engine.gemm({ m: 1, k: 3, n: 1, a: new Float32Array([1, 2, 3]), b: new Float32Array([4, 5, 6]) }));
await engine.shutdown();
