# Shared set-up for scripts/run and scripts/test: installs what is missing, idempotently, and
# nothing that is already there. Sourced, not run.
set -euo pipefail

# `./scripts/X --help` prints the script's own header comment (what it does, how to call it) and
# installs, builds and runs nothing.
case "${1:-}" in
  -h|--help)
    awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
    exit 0
    ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# One build cache for every checkout on this machine: dependencies compile once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vigil/target}"
TOOLS_DIR="${VIGIL_TOOLS_DIR:-$HOME/.cache/vigil/tools}"
# The browser build has a directory of its own so that it can compile at the same time as the
# server (cargo locks a target directory for the whole of a build).
export WASM_TARGET_DIR="${WASM_TARGET_DIR:-$HOME/.cache/vigil/target-wasm}"

# Every fresh checkout (CI clones anew each run) leaves its own copy of the workspace's test
# binaries in the shared directory; past a limit, start the debug build over rather than fill
# the disk.
if [ -d "$CARGO_TARGET_DIR/debug" ]; then
  used_gb=$(du -s --block-size=1G "$CARGO_TARGET_DIR/debug" 2>/dev/null | cut -f1)
  if [ "${used_gb:-0}" -gt "${VIGIL_TARGET_MAX_GB:-25}" ]; then
    printf '==> %s GB of debug builds in %s: clearing them\n' "$used_gb" "$CARGO_TARGET_DIR" >&2
    rm -rf "$CARGO_TARGET_DIR/debug"
  fi
fi
export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

BINARYEN_VERSION="132.0.0"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $* (install sudo or run as root)" >&2; return 1; fi
}

APT_UPDATED=""
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null || { echo "Rust is required: https://rustup.rs" >&2; exit 1; }
  # rust-toolchain.toml pins the toolchain; make sure it and its wasm target are present.
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
}

# wasm-bindgen-cli must match the wasm-bindgen library exactly; Cargo.lock says which.
ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
    log "installing wasm-bindgen-cli $want (once)"
    # Optimised enough to process the app in a second, not so much that compiling it takes
    # minutes: it runs on a few megabytes, a few times a day.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install --quiet "wasm-bindgen-cli@$want"
  fi
}

ensure_node() {
  command -v npm >/dev/null || ensure_apt nodejs npm
}

# Release builds run wasm-opt; Debian's binaryen is too old (its output breaks hydration).
ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    ensure_node
    log "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
    mkdir -p "$TOOLS_DIR"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

# The system's PostgreSQL server programs, for the embedded cluster.
ensure_postgres_programs() {
  if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    ensure_apt postgresql
  fi
}

# A Python module from PyPI (the tests' SMTP server, aiosmtpd).
ensure_python_module() {
  local module="$1" package="$2"
  python3 -c "import $module" 2>/dev/null && return 0
  log "installing $package from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "$package"
}

ensure_build_tools() {
  ensure_apt build-essential pkg-config
  ensure_rust
}

# The browser build of the app (dev or release), in its own target directory.
build_wasm() {
  local wasm_profile=dev
  [ "$1" = release ] && wasm_profile=wasm-release
  cargo build --package=vigil-hydrate --lib --target=wasm32-unknown-unknown \
    --profile="$wasm_profile" --target-dir="$WASM_TARGET_DIR"
}

# Builds the site the server serves into SITE_DIR: the browser build of the app (cargo, then
# wasm-bindgen, then wasm-opt for release) and the stylesheet, each named after a hash of its
# content, plus public/. This is what `cargo leptos build` does; doing it here spares a fresh
# machine compiling cargo-leptos (18 minutes), which stays the tool for `cargo leptos watch`.
# The hashes go to hash.txt beside the server binary of SERVER_DIR's profile (debug or
# release), where Leptos reads them. When nothing that goes into the site changed since the last
# build (the wasm, the stylesheet, public/, the tools' versions), the site is left as it is:
# wasm-opt and brotli -q 11 take a minute and give the same bytes again.
#   build_site dev|release SITE_DIR SERVER_DIR
build_site() {
  local profile="$1" site="$2" server_dir="$3" wasm_dir=debug out name hash inputs
  [ "$profile" = release ] && wasm_dir=wasm-release
  ensure_wasm_bindgen
  [ "$profile" = release ] && ensure_wasm_opt
  build_wasm "$profile"
  local wasm="$WASM_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/vigil_hydrate.wasm"
  mkdir -p "$CARGO_TARGET_DIR/$server_dir"
  inputs="$( { echo "$profile"; wasm-bindgen --version
    if [ "$profile" = release ]; then wasm-opt --version; fi
    sha256sum "$wasm" style/main.css; find public -type f -exec sha256sum {} + | sort; } | sha256sum)"
  # What the site was made from, and its hashes, beside it (not in it: it is served as it is).
  if [ -d "$site" ] && [ "$(cat "$site.inputs" 2>/dev/null)" = "$inputs" ] && [ -f "$site.hash.txt" ]; then
    cp "$site.hash.txt" "$CARGO_TARGET_DIR/$server_dir/hash.txt"
    return 0
  fi
  out="$(mktemp -d)"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name vigil "$wasm"
  if [ "$profile" = release ]; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$out/vigil_bg.wasm" -o "$out/vigil_bg.opt.wasm"
    mv "$out/vigil_bg.opt.wasm" "$out/vigil_bg.wasm"
  fi
  cp style/main.css "$out/vigil.css"
  rm -rf "$site.new" && mkdir -p "$site.new/pkg"
  cp -r public/. "$site.new/"
  : > "$out/hash.txt"
  for name in js:vigil.js wasm:vigil_bg.wasm css:vigil.css; do
    hash=$(sha256sum "$out/${name#*:}" | cut -c1-20)
    cp "$out/${name#*:}" "$site.new/pkg/vigil.$hash.${name%%:*}"
    printf '%s: %s\n' "${name%%:*}" "$hash" >> "$out/hash.txt"
  done
  if [ "$profile" = release ]; then
    # Stored compressed once, served as stored (the server prefers .br, then .gz).
    ensure_apt brotli
    for name in "$site.new"/pkg/*; do
      gzip -9 -k "$name"
      brotli -q 11 -k "$name"
    done
  fi
  # Swap whole directories: a server still running from the old one finds either all old or
  # all new files.
  rm -rf "$site.old"; [ -d "$site" ] && mv "$site" "$site.old"
  mv "$site.new" "$site"; rm -rf "$site.old"
  cp "$out/hash.txt" "$site.hash.txt"
  printf '%s\n' "$inputs" > "$site.inputs"
  cp "$out/hash.txt" "$CARGO_TARGET_DIR/$server_dir/hash.txt"
  rm -rf "$out"
}

# The build-time query data in .sqlx/ (see .cargo/config.toml), made afresh from the migrations:
# a scratch database on DATABASE_URL's server gets every migration, then vigil-core (where all
# checked SQL lives) is re-expanded against it with sqlx's macros writing what they learn into a
# temporary directory. `check` compares that with .sqlx/ (what `cargo sqlx prepare --check` does,
# without building sqlx-cli); `write` replaces .sqlx/ with it.
sqlx_query_data() {
  local mode="$1" scratch url out status=0
  scratch="vigil_sqlx_$$_$(date +%s)"
  url="$(printf '%s' "$DATABASE_URL" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\\1/$scratch#")"
  psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $scratch" >/dev/null
  for f in migrations/*.sql; do
    psql "$url" -qX -v ON_ERROR_STOP=1 -f "$f" >/dev/null
  done
  out="$(mktemp -d)"
  # A proc macro's environment is invisible to cargo's change tracking: touching the crate makes
  # it expand again, this time against the scratch database. Its old time is put back after, so
  # the builds made before stay valid (the expansion is the same either way).
  local was
  was="$(stat -c %y core/src/lib.rs)"
  touch core/src/lib.rs
  SQLX_OFFLINE=false DATABASE_URL="$url" SQLX_OFFLINE_DIR="$out" \
    cargo check --quiet --workspace --exclude vigil-hydrate || status=$?
  touch -d "$was" core/src/lib.rs
  psql "$DATABASE_URL" -qX -c "DROP DATABASE $scratch" >/dev/null || true
  if [ "$status" != 0 ]; then
    rm -rf "$out"
    echo "the queries in core/src/store do not compile against the migrations (above)" >&2
    return 1
  fi
  if [ "$mode" = write ]; then
    rm -rf .sqlx && mv "$out" .sqlx && chmod 755 .sqlx
    log "wrote $(ls .sqlx | wc -l) query descriptions to .sqlx/"
  elif ! diff -r -q .sqlx "$out" >&2; then
    rm -rf "$out"
    echo ".sqlx/ does not match the queries and migrations: run ./scripts/sqlx-prepare and commit .sqlx/" >&2
    return 1
  else
    rm -rf "$out"
  fi
}
