// Runs the Rust kernel test suite compiled to wasm (crates/kernels/src/selftest,
// built by `npm run build:selftest`) under Node on a 2-thread pool, so the
// SIMD128 code paths and the wasm thread pool are what gets tested.
// A failing case panics, i.e. traps; its message comes from the panic hook and
// the runner continues on a fresh engine.
import { readFileSync } from 'node:fs';
import { Engine, RuntimeError } from '@lite-cnn/sdk';

const wasmUrl = new URL('../../ts/sdk/wasm/lite_cnn_selftest.wasm', import.meta.url);
const bytes = readFileSync(wasmUrl);
const module = await WebAssembly.compile(bytes);
const threads = 2;
const newEngine = () => Engine.create({ threads, artifact: 'threaded', wasm: { threaded: module } });

let engine = await newEngine();
const count = engine.raw.lc_selftest_count();
const names = [];
{
  const buf = engine.memory.alloc(256, 1);
  for (let i = 0; i < count; i++) {
    const len = engine.raw.lc_selftest_name(i, buf, 256);
    names.push(engine.memory.utf8(buf, len));
  }
  engine.memory.free(buf, 256, 1);
}
console.log(`wasm selftests: ${count} cases, ${engine.threads} threads, SIMD128 ${engine.simd ? 'on' : 'OFF'}`);
if (!engine.simd) {
  console.error('the selftest module was built without SIMD128');
  process.exit(1);
}

let passed = 0;
const failures = [];
for (let i = 0; i < count; i++) {
  const t0 = performance.now();
  try {
    engine.call(names[i], () => engine.raw.lc_selftest_run(i));
    passed++;
    console.log(`  ok    ${names[i]} (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (err) {
    failures.push(names[i]);
    console.log(`  FAIL  ${names[i]}\n        ${err instanceof RuntimeError ? err.message : String(err)}`);
    await engine.shutdown();
    engine = await newEngine();
  }
}
await engine.shutdown();
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 && passed > 0 ? 0 : 1);
