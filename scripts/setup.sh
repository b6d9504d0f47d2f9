#!/usr/bin/env bash
# One-time (idempotent, quick when all is present) set-up of everything lite-cnn
# needs to build and test:
#   1. a Rust toolchain that can build std for wasm32 with atomics + SIMD128:
#      - Debian/Ubuntu with apt: Debian's rustc-web/cargo-web/rust-web-src,
#        lld-22 and Debian's rayon sources (no crates.io, no rustup needed);
#      - elsewhere: a rustup nightly with rust-src and the wasm32 target;
#   2. Debian's chromium for the browser tests (never a downloaded browser);
#   3. the npm dependencies.
#   4. Debian's python3-torch, python3-torchvision and python3-onnx (test oracles).
# Set LITE_CNN_SKIP_BROWSER=1 to skip chromium, LITE_CNN_SKIP_TORCH=1 to skip PyTorch.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*"; }

# python3-numpy: the interop tests read our .safetensors files with an independent NumPy reader.
debian_pkgs=(rustc-web cargo-web rust-web-src lld-22 librust-rayon-dev librust-rayon-core-dev wabt python3-numpy)
[[ "${LITE_CNN_SKIP_BROWSER:-0}" == 1 ]] || debian_pkgs+=(chromium)
# PyTorch and torchvision: reference oracles for the applications and the exporters (seeded
# random weights, nothing downloaded); python3-onnx: onnx.checker for exported files. Those
# tests skip without them. LITE_CNN_SKIP_TORCH=1 skips.
[[ "${LITE_CNN_SKIP_TORCH:-0}" == 1 ]] || debian_pkgs+=(python3-torch python3-torchvision python3-onnx)

missing_debian_pkgs() {
  local p
  for p in "${debian_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "need root to run: $*"; exit 1; fi
}

have_rustup_nightly() {
  command -v rustup >/dev/null || return 1
  rustup run nightly rustc --version >/dev/null 2>&1
}

write_debian_cargo_config() {
  mkdir -p .cargo
  cat > .cargo/config.toml.tmp <<'TOML'
# Written by scripts/setup.sh for this machine (git-ignored): resolve crates
# from Debian's packaged sources, since crates.io is not reachable here.
[source.crates-io]
replace-with = "debian-combined"
[source.debian-combined]
directory = ".vendor-debian"
TOML
  mv .cargo/config.toml.tmp .cargo/config.toml
}

if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
  mapfile -t missing < <(missing_debian_pkgs)
  if (( ${#missing[@]} )); then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    log "Debian packages present"
  fi
  bash scripts/mk-vendor.sh
  write_debian_cargo_config
  log "toolchain: Debian rustc $(/usr/bin/rustc --version | cut -d' ' -f2) + wasm-ld 22 + vendored crates"
elif command -v rustup >/dev/null; then
  log "no apt: using rustup nightly with rust-src and wasm32-unknown-unknown"
  rustup toolchain install nightly --profile minimal --component rust-src --target wasm32-unknown-unknown
else
  cat >&2 <<'MSG'
[setup] No way to get a Rust toolchain that builds std for wasm32 with threads.
Install one of:
  - on Debian/Ubuntu: apt-get install rustc-web cargo-web rust-web-src lld-22 librust-rayon-dev
  - elsewhere: rustup (https://rustup.rs), then
      rustup toolchain install nightly --component rust-src --target wasm32-unknown-unknown
and Chromium (for the browser tests only). Then run `npm run setup` again.
MSG
  exit 1
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund
else
  log "npm dependencies present"
fi
log "done"
