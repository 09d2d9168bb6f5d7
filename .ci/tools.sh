# Sourced by .ci/serve, .ci/test and .ci/bench: makes sure the build tools are present,
# installing what is missing into the project's own .tools/ folder (nothing global but the
# rustup target). Versions are pinned to what this workspace's Cargo.lock needs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CARGO_LEPTOS_VERSION="0.3.10"
WASM_BINDGEN_VERSION="0.2.130"   # must equal wasm-bindgen in Cargo.lock
BINARYEN_VERSION="132.0.0"       # Debian's binaryen 108 produces bundles that fail to hydrate

# The project's tool folder comes first: cargo-leptos takes the first wasm-bindgen and
# wasm-opt on PATH and would otherwise try to download them.
export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }

ensure_tools() {
  command -v cargo >/dev/null || { echo "Rust is required: install it from https://rustup.rs" >&2; exit 1; }
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! have_version cargo-leptos "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION into .tools (one-off, ~15 minutes)"
    cargo install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION" --root "$TOOLS"
  fi
  if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into .tools (one-off, ~3 minutes)"
    cargo install --locked wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS"
  fi
}

# wasm-opt is needed for release builds only.
ensure_wasm_opt() {
  if ! have_version wasm-opt "version ${BINARYEN_VERSION%%.*}"; then
    command -v npm >/dev/null || { echo "npm is required to install wasm-opt (binaryen) for release builds" >&2; exit 1; }
    say "installing binaryen $BINARYEN_VERSION (wasm-opt) into .tools/npm"
    mkdir -p "$TOOLS/npm"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}
