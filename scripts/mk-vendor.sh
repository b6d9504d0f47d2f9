#!/usr/bin/env bash
# Builds .vendor-debian/: one directory source holding Debian's crate sources
# (librust-*-dev) and the crates std itself depends on (rust-web-src), because
# -Zbuild-std resolves std's dependencies through the same source replacement
# as ours. Cheap and idempotent; machine-specific, so git-ignored.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
std_vendor="$(ls -d /usr/src/rustc-*/library/vendor 2>/dev/null | sort -V | tail -1)"
if [[ -z "$std_vendor" || ! -d /usr/share/cargo/registry ]]; then
  echo "mk-vendor: need Debian's rust-web-src and librust-rayon-dev (run scripts/setup.sh)" >&2
  exit 1
fi
mkdir -p "$root/.vendor-debian"
for d in "$std_vendor"/* /usr/share/cargo/registry/*; do
  ln -sfn "$d" "$root/.vendor-debian/$(basename "$d")"
done
