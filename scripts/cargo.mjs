// Runs cargo natively (e.g. `node scripts/cargo.mjs test`) with the same
// toolchain choice as the wasm build, so Debian machines use Debian's cargo and
// vendored crates while rustup machines use their default toolchain.
import { spawnSync } from 'node:child_process';
import { findToolchain, repoRoot } from './toolchain.mjs';

const tc = findToolchain();
const cargo = tc.kind === 'debian' ? ['/usr/bin/cargo'] : ['cargo'];
const extra = tc.offline ? ['--offline'] : [];
const [sub, ...rest] = process.argv.slice(2);
const r = spawnSync(cargo[0], [...cargo.slice(1), sub ?? 'test', ...extra, ...rest], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...process.env, ...(tc.kind === 'debian' ? { RUSTC: '/usr/bin/rustc', RUSTDOC: '/usr/bin/rustdoc' } : {}) },
});
process.exit(r.status ?? 1);
