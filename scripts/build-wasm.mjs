// Builds the kernel crate into the wasm artifacts the SDK loads:
//   threaded: simd128 + atomics + bulk-memory, shared imported memory, rayon pool
//   single:   simd128, unshared memory, no threads
// and, with --selftest, a threaded module that also exports the Rust kernel test
// suite (run by tests/wasm/run-selftests.mjs). Cargo's own change tracking makes
// a no-op rebuild take well under a second, so this always calls cargo.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findToolchain, repoRoot } from './toolchain.mjs';

const variants = {
  threaded: { config: 'wasm-threaded.toml', features: [], out: 'lite_cnn_threaded.wasm' },
  single: { config: 'wasm-single.toml', features: ['--no-default-features'], out: 'lite_cnn_single.wasm' },
  // Shares the threaded target dir: same std build, only this crate differs.
  selftest: { config: 'wasm-threaded.toml', features: ['--features', 'selftest'], out: 'lite_cnn_selftest.wasm', targetDir: 'wasm-threaded' },
};

const wanted = process.argv.includes('--selftest') ? ['selftest'] : ['threaded', 'single'];
const tc = findToolchain();
const outDir = join(repoRoot, 'ts/sdk/wasm');
mkdirSync(outDir, { recursive: true });

for (const name of wanted) {
  const v = variants[name];
  const targetDir = join(repoRoot, 'target', v.targetDir ?? `wasm-${name}`);
  const args = [
    ...tc.cargo.slice(1),
    'build',
    '--release',
    '-p',
    'lite-cnn-kernels',
    '--lib',
    '--target-dir',
    targetDir,
    '--config',
    join(repoRoot, 'cargo-config/wasm-common.toml'),
    '--config',
    join(repoRoot, 'cargo-config', v.config),
    ...tc.wasmConfig.flatMap((c) => ['--config', c]),
    ...v.features,
    ...(tc.offline ? ['--offline'] : []),
  ];
  const t0 = Date.now();
  // RUSTFLAGS from the environment would replace the config files' flags
  // entirely (toolchain doc §3), so the build never inherits them.
  const env = { ...process.env, ...tc.env };
  delete env.RUSTFLAGS;
  delete env.CARGO_ENCODED_RUSTFLAGS;
  const r = spawnSync(tc.cargo[0], args, { cwd: repoRoot, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`build-wasm: cargo failed for the ${name} artifact (toolchain: ${tc.kind})`);
    process.exit(r.status ?? 1);
  }
  const built = join(targetDir, 'wasm32-unknown-unknown/release/lite_cnn_kernels.wasm');
  copyFileSync(built, join(outDir, v.out));
  const kb = (statSync(built).size / 1024).toFixed(0);
  console.log(`build-wasm: ${name} -> ts/sdk/wasm/${v.out} (${kb} KiB, ${tc.kind} toolchain, ${Date.now() - t0} ms)`);
}
