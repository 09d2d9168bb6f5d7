# Sourced by .ci/serve, .ci/test, .ci/bench and .ci/check-install: makes sure the build tools are
# present, installing what is missing into the project's own tool folder (nothing global but the
# rustup target). Versions are pinned to what this workspace's Cargo.lock needs.
# TENANTRY_TOOLS_DIR overrides the tool folder (default: .tools in the project root);
# .ci/check-install points it at an empty folder to prove a fresh install works.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${TENANTRY_TOOLS_DIR:-$ROOT/.tools}"
case "$TOOLS" in /*) ;; *) TOOLS="$PWD/$TOOLS" ;; esac
CARGO_LEPTOS_VERSION="0.3.10"
WASM_BINDGEN_VERSION="0.2.130"   # must equal wasm-bindgen in Cargo.lock
BINARYEN_VERSION="132.0.0"       # Debian's binaryen 108 produces bundles that fail to hydrate

# The project's tool folder comes first: cargo-leptos takes the first wasm-bindgen and
# wasm-opt on PATH and would otherwise try to download them.
export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }

# Seconds since $1 (a value of $SECONDS) as "N min M s".
took() {
  local s=$((SECONDS - $1))
  if [ "$s" -ge 60 ]; then printf '%d min %d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi
}

# cargo_install_tool CRATE VERSION BIN DURATION: installs CRATE at exactly VERSION into $TOOLS
# unless BIN already reports that version. Tries `--locked` first (the dependencies the crate was
# released with); when that fails, typically because the registry no longer offers a version in
# the crate's own lockfile (wasm-bindgen-cli 0.2.130 pins webpki-roots 1.0.11, since removed),
# retries once without it. Both attempts share one build folder, so the retry reuses whatever
# the first one compiled; it is removed after a successful install.
cargo_install_tool() {
  local crate="$1" version="$2" bin="$3" duration="$4"
  have_version "$bin" "$version" && return 0
  local start=$SECONDS build="$TOOLS/build/$crate"
  say "installing $crate $version into $TOOLS (one-off, $duration on 2 cores; cargo's progress follows)"
  if ! CARGO_TARGET_DIR="$build" cargo install --locked "$crate" --version "$version" --root "$TOOLS"; then
    say "cargo install --locked $crate $version failed (see above); retrying WITHOUT --locked, with the newest dependencies its Cargo.toml allows"
    if ! CARGO_TARGET_DIR="$build" cargo install "$crate" --version "$version" --root "$TOOLS"; then
      echo "error: installing $crate $version failed, with and without --locked (see cargo's errors above)" >&2
      return 1
    fi
  fi
  rm -rf "$build"; rmdir "$TOOLS/build" 2>/dev/null || true
  hash -r
  if ! have_version "$bin" "$version"; then
    echo "error: $crate $version was installed into $TOOLS/bin, but \`$bin --version\` does not report $version (found: $(command -v "$bin" || echo nothing))" >&2
    return 1
  fi
  say "$crate $version installed in $(took "$start")"
}

ensure_tools() {
  command -v cargo >/dev/null || { echo "Rust is required: install it from https://rustup.rs" >&2; exit 1; }
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  cargo_install_tool cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-leptos "~15-20 minutes" || exit 1
  cargo_install_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen "~3 minutes" || exit 1
}

# wasm-opt is needed for release builds only.
ensure_wasm_opt() {
  local want="version ${BINARYEN_VERSION%%.*}"
  have_version wasm-opt "$want" && return 0
  command -v npm >/dev/null || { echo "npm is required to install wasm-opt (binaryen) for release builds" >&2; exit 1; }
  local start=$SECONDS
  say "installing binaryen $BINARYEN_VERSION (wasm-opt) into $TOOLS/npm (a few seconds)"
  mkdir -p "$TOOLS/npm"
  # --loglevel=error rather than --silent, so that a failure says why.
  local npm_install=(npm install --no-audit --no-fund --no-update-notifier --loglevel=error --prefix "$TOOLS/npm" "binaryen@$BINARYEN_VERSION")
  if ! "${npm_install[@]}" >/dev/null; then
    say "npm install of binaryen $BINARYEN_VERSION failed (see above); retrying once in 5 s"
    sleep 5
    "${npm_install[@]}" >/dev/null || { echo "error: installing binaryen $BINARYEN_VERSION with npm failed twice" >&2; exit 1; }
  fi
  hash -r
  have_version wasm-opt "$want" || { echo "error: binaryen was installed into $TOOLS/npm, but \`wasm-opt --version\` does not report $want" >&2; exit 1; }
  say "binaryen $BINARYEN_VERSION installed in $(took "$start")"
}
