// Finds the Rust toolchain that can build std for wasm32 with atomics + SIMD128.
// Two supported set-ups (scripts/setup.sh installs one of them):
//   debian: /usr/bin/cargo + /usr/bin/rustc (rustc-web), rust-web-src, wasm-ld from lld-22,
//           crates from .vendor-debian (no network). RUSTC_BOOTSTRAP unlocks -Zbuild-std.
//   rustup: a nightly with rust-src; rust-lld ships with it.
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

function findDebianWasmLd() {
  const llvmDirs = existsSync('/usr/lib')
    ? readdirSync('/usr/lib').filter((d) => /^llvm-\d+$/.test(d)).sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)))
    : [];
  for (const d of llvmDirs) {
    const p = join('/usr/lib', d, 'bin', 'wasm-ld');
    if (existsSync(p)) return p;
  }
  return undefined;
}

function debianToolchain() {
  if (!existsSync('/usr/bin/cargo') || !existsSync('/usr/bin/rustc')) return undefined;
  const sysroot = execFileSync('/usr/bin/rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
  if (!existsSync(join(sysroot, 'lib/rustlib/src/rust/library/Cargo.lock'))) return undefined;
  const wasmLd = findDebianWasmLd();
  if (!wasmLd || !existsSync(join(repoRoot, '.vendor-debian'))) return undefined;
  return {
    kind: 'debian',
    cargo: ['/usr/bin/cargo'],
    env: { RUSTC_BOOTSTRAP: '1', RUSTC: '/usr/bin/rustc' },
    wasmConfig: [`target.wasm32-unknown-unknown.linker="${wasmLd}"`],
    offline: true,
  };
}

function rustupToolchain() {
  try {
    const sysroot = execFileSync('rustup', ['run', 'nightly', 'rustc', '--print', 'sysroot'], { encoding: 'utf8' }).trim();
    if (!existsSync(join(sysroot, 'lib/rustlib/src/rust/library'))) return undefined;
  } catch {
    return undefined;
  }
  return { kind: 'rustup', cargo: ['rustup', 'run', 'nightly', 'cargo'], env: {}, wasmConfig: [], offline: false };
}

/** The toolchain to use, or a thrown Error naming what to install. */
export function findToolchain() {
  const tc = debianToolchain() ?? rustupToolchain();
  if (!tc) {
    throw new Error(
      'No Rust toolchain that can build std for wasm32 was found.\n' +
        '  Run `npm run setup` (Debian/Ubuntu: installs rustc-web cargo-web rust-web-src lld-22 librust-rayon-dev;\n' +
        '  elsewhere: `rustup toolchain install nightly --component rust-src --target wasm32-unknown-unknown`).',
    );
  }
  return tc;
}
