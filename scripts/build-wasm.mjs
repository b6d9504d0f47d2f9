// Builds the kernel crate into the wasm artifacts the SDK loads:
//   threaded: simd128 + atomics + bulk-memory, shared imported memory, rayon pool
//   single:   simd128, unshared memory, no threads
//   threaded-relaxed, single-relaxed: the same plus relaxed-simd, so the
//             multiply-add helper (crates/kernels/src/simd.rs) is
//             f32x4.relaxed_madd; the runtime picks them where the engine
//             validates relaxed SIMD (ts/sdk/src/runtime/artifact.ts)
// and, with --selftest, a threaded module that also exports the Rust kernel test
// suite (run by tests/wasm/run-selftests.mjs). `--only NAME` builds one artifact
// (e.g. `--only threaded-relaxed`, the one Node picks: quicker kernel
// iterations). Cargo's own change tracking makes a no-op rebuild take well
// under a second, so this always calls cargo.
//
// Build time: a relaxed variant builds the package crates/kernels-relaxed (the
// same sources) in its exact twin's target directory, with relaxed-simd as a
// profile rustflag of that package only (cargo's -Zprofile-rustflags). Cargo
// builds std once more for it (the profile differs), so a cold build compiles
// std four times instead of two (about a minute each on 2 idle cores); being
// another package keeps every build cached, so a no-op rebuild of all four
// artifacts takes about 2 s.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findToolchain, repoRoot } from './toolchain.mjs';

const EXACT = { pkg: 'lite-cnn-kernels', file: 'lite_cnn_kernels.wasm' };
/** Only this package gets relaxed-simd: std and rayon never use the relaxed ops. */
const RELAXED = {
  pkg: 'lite-cnn-kernels-relaxed',
  file: 'lite_cnn_kernels_relaxed.wasm',
  flags: ['-Zprofile-rustflags', '--config', 'profile.release.package.lite-cnn-kernels-relaxed.rustflags=["-C", "target-feature=+relaxed-simd"]'],
};

const variants = {
  threaded: { crate: EXACT, config: 'wasm-threaded.toml', args: [], out: 'lite_cnn_threaded.wasm' },
  'threaded-relaxed': { crate: RELAXED, config: 'wasm-threaded.toml', args: [], out: 'lite_cnn_threaded_relaxed.wasm', targetDir: 'wasm-threaded' },
  single: { crate: EXACT, config: 'wasm-single.toml', args: ['--no-default-features'], out: 'lite_cnn_single.wasm' },
  'single-relaxed': {
    crate: RELAXED,
    config: 'wasm-single.toml',
    args: ['--no-default-features', '--features', 'relaxed-simd'],
    out: 'lite_cnn_single_relaxed.wasm',
    targetDir: 'wasm-single',
  },
  // Shares the threaded target dir: same std build, only this crate differs.
  selftest: { crate: EXACT, config: 'wasm-threaded.toml', args: ['--features', 'selftest'], out: 'lite_cnn_selftest.wasm', targetDir: 'wasm-threaded' },
};

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (only !== undefined && !(only in variants)) {
  console.error(`build-wasm: --only expects one of ${Object.keys(variants).join(', ')}, got ${only}`);
  process.exit(2);
}
const wanted = only ? [only] : process.argv.includes('--selftest') ? ['selftest'] : ['threaded', 'threaded-relaxed', 'single', 'single-relaxed'];
const tc = findToolchain();
const started = Date.now();
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
    v.crate.pkg,
    '--lib',
    '--target-dir',
    targetDir,
    '--config',
    join(repoRoot, 'cargo-config/wasm-common.toml'),
    '--config',
    join(repoRoot, 'cargo-config', v.config),
    ...tc.wasmConfig.flatMap((c) => ['--config', c]),
    ...(v.crate.flags ?? []),
    ...v.args,
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
  const built = join(targetDir, 'wasm32-unknown-unknown/release', v.crate.file);
  copyFileSync(built, join(outDir, v.out));
  const kb = (statSync(built).size / 1024).toFixed(0);
  console.log(`build-wasm: ${name} -> ts/sdk/wasm/${v.out} (${kb} KiB, ${tc.kind} toolchain, ${Date.now() - t0} ms)`);
}
console.log(`build-wasm: ${wanted.length} artifact(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
