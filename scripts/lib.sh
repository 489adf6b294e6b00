# Shared by scripts/run and scripts/test: progress output and idempotent installs of
# everything the project needs on Debian 12. Sourced, not executed.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PATH="$HOME/.cargo/bin:$ROOT/tools/node_modules/.bin:$PATH"
# Where cargo builds: CARGO_TARGET_DIR when set (relative to the checkout, where the scripts run).
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"
# Shared with scripts these scripts run (scripts/with-postgres), so step times stay cumulative.
STARTED_AT="${CONSULT_STARTED_AT:-$(date +%s)}"
export CONSULT_STARTED_AT="$STARTED_AT"

# Versions of tools built from source, chosen for rustc 1.95 (see ../shared/platform.md).
TRUNK_VERSION="0.21.14"

# Debian packages: Tauri's build deps, the headless test desktop (Xvfb, D-Bus, WebKitWebDriver,
# GNOME Keyring as the Secret Service, secret-tool), screenshots, and PostgreSQL, whose server
# binaries scripts/with-postgres runs for the server's test pass on PostgreSQL, and Chromium with
# chromedriver for the Jitsi stand-in's browser self-test (tests/tests/jitsi_standin.rs), and
# desktop-file-utils, whose dpkg trigger indexes installed desktop entries' link handlers as on a
# real desktop (scripts/check-package opens a consult:// link through the installed entry).
APT_PACKAGES=(
  build-essential pkg-config libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb dbus dbus-x11 webkit2gtk-driver gnome-keyring libsecret-tools
  imagemagick xdotool postgresql chromium chromium-driver
  openbox wmctrl x11-utils
  desktop-file-utils
  # systemd-analyze checks the server's unit (server/tests/systemd_unit.rs).
  systemd
  # The in-app updater installs a .deb with `sudo dpkg -i` when pkexec is absent
  # (tests/tests/installed_updates.rs runs it as root in scripts/check-package).
  sudo
  # A speaker heard by a microphone: the self-test's tone through a null sink's loop
  # (crates/consult-core/tests/speaker_loop.rs runs a server of its own; none starts by itself).
  pulseaudio
)

step() {
  local elapsed=$(( $(date +%s) - STARTED_AT ))
  printf '\n==> [%02d:%02d] %s\n' $((elapsed / 60)) $((elapsed % 60)) "$*"
}

note() { printf '    %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_apt_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    note "Debian packages: all present"
    return
  fi
  step "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node.js and npm run the pinned npm tools and the stand-in's bundler. A machine may already have
# them (for example from NodeSource); otherwise Debian's (Node.js 18, npm 9) are installed.
NODE_MIN_MAJOR=18
ensure_node() {
  local major=""
  if command -v node >/dev/null; then
    major=$(node --version | sed -n 's/^v\([0-9]*\).*/\1/p')
  fi
  if [ -n "$major" ] && [ "$major" -ge "$NODE_MIN_MAJOR" ] && command -v npm >/dev/null; then
    note "Node.js $(node --version) and npm $(npm --version): present"
    return
  fi
  step "Installing Node.js and npm (Debian)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  note "Node.js $(node --version), npm $(npm --version)"
}

ensure_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    note "wasm32-unknown-unknown target: present"
  else
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The Windows check (scripts/test): the Rust standard library for x86_64-pc-windows-gnu, and
# MinGW-w64, whose C compiler builds the C parts of dependencies (ring) and whose windres
# compiles the app's Windows resources.
WINDOWS_TARGET=x86_64-pc-windows-gnu
ensure_windows_target() {
  local APT_PACKAGES=(gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64)
  ensure_apt_packages
  if rustup target list --installed | grep -qx "$WINDOWS_TARGET"; then
    note "$WINDOWS_TARGET target: present"
  else
    step "Adding the $WINDOWS_TARGET target"
    rustup target add "$WINDOWS_TARGET"
  fi
}

# ensure_cargo_tool <binary> <version or ""> <crate> [extra cargo install args...]
# An empty version accepts any installed version (tauri-driver has no --version flag).
ensure_cargo_tool() {
  local binary=$1 version=$2 crate=$3
  shift 3
  if command -v "$binary" >/dev/null; then
    if [ -z "$version" ] || "$binary" --version 2>/dev/null | grep -qF " $version"; then
      note "$binary ${version:-(any version)}: present"
      return
    fi
  fi
  step "Building $crate ${version:-latest} from crates.io (a few minutes on 2 cores, once)"
  cargo install "$crate${version:+@$version}" "$@"
}

# The wasm-bindgen CLI must match the wasm-bindgen library in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# Versions are pinned exactly in tools/package.json; the stamp records what was installed.
ensure_npm_tools() {
  local stamp="$ROOT/tools/node_modules/.installed-from"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$ROOT/tools/package.json"; then
    note "npm tools (wasm-opt, tauri CLI): present"
    return
  fi
  step "Installing npm tools pinned in tools/package.json"
  (cd "$ROOT/tools" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
  cp "$ROOT/tools/package.json" "$stamp"
}

ensure_tools() {
  step "Checking tools"
  ensure_apt_packages
  ensure_node
  ensure_wasm_target
  ensure_npm_tools
  ensure_cargo_tool trunk "$TRUNK_VERSION" trunk --locked
  # --locked can fail on a yanked dependency of wasm-bindgen-cli; resolve fresh instead.
  ensure_cargo_tool wasm-bindgen "$(wasm_bindgen_version)" wasm-bindgen-cli
  ensure_cargo_tool tauri-driver "" tauri-driver --locked
  ensure_cargo_tool cargo-nextest "" cargo-nextest --locked
}

build_ui() {
  step "Building the UI (Trunk, release, wasm-opt -Oz)"
  (cd "$ROOT/ui" && trunk build --release --offline)
  local wasm
  wasm=$(ls "$ROOT"/ui/dist/*.wasm)
  note "wasm: $(stat -c %s "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
  build_jitsi_standin
}

# The floor app of the start-up, memory and size ratios (bench/floor: Tauri 2 without plugins, a
# one-input Yew page), built into the same target/ with the same tools. Its own workspace, so it
# must match the main one where the comparison depends on it: the release profiles, and the Tauri,
# wry and Yew versions in the two lock files.
build_floor() {
  step "Building the floor app (bench/floor, release)"
  local floor="$ROOT/bench/floor"
  python3 - "$ROOT/Cargo.toml" "$floor/Cargo.toml" "$ROOT/Cargo.lock" "$floor/Cargo.lock" <<'PY'
import sys, tomllib
main, floor = (tomllib.load(open(path, "rb")) for path in sys.argv[1:3])
for profile in ("release", "wasm-release"):
    if main["profile"][profile] != floor["profile"][profile]:
        sys.exit(f"bench/floor: [profile.{profile}] differs from the main workspace's")
locks = [{p["name"]: p["version"] for p in tomllib.load(open(path, "rb"))["package"]} for path in sys.argv[3:5]]
for crate in ("tauri", "wry", "tao", "webkit2gtk", "yew", "wasm-bindgen"):
    if locks[0].get(crate) != locks[1].get(crate):
        sys.exit(f"bench/floor: {crate} {locks[1].get(crate)} differs from the app's {locks[0].get(crate)}")
PY
  (cd "$floor/ui" && CARGO_TARGET_DIR="$TARGET_DIR" trunk build --release --offline)
  CARGO_TARGET_DIR="$TARGET_DIR" cargo build --locked --release --manifest-path "$floor/Cargo.toml" -p consult-floor
}

# The Jitsi stand-in's browser bundle for the end-to-end tests (tests/jitsi-standin/dist): the
# genuine external_api.js and the stand-in meeting page. npm ci only when package-lock.json changed
# (tests/jitsi-standin/.npmrc turns install scripts and peer dependencies off); esbuild only when
# an output is missing or older than its inputs.
build_jitsi_standin() {
  local dir="$ROOT/tests/jitsi-standin"
  local stamp="$dir/node_modules/.installed-from"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
    note "Jitsi stand-in npm packages: present"
  else
    step "Installing the Jitsi stand-in's npm packages (package-lock.json)"
    (cd "$dir" && npm ci --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
  local output stale=""
  for output in external_api.js meeting.js probe.js; do
    if [ ! -f "$dir/dist/$output" ] || [ -n "$(find "$dir/build.mjs" "$dir/src" "$dir/package-lock.json" -newer "$dir/dist/$output" -print -quit)" ]; then
      stale=1
    fi
  done
  if [ -z "$stale" ]; then
    note "Jitsi stand-in bundle: up to date"
    return
  fi
  step "Bundling the Jitsi stand-in (esbuild)"
  (cd "$dir" && node build.mjs)
  note "external_api.js: $(stat -c %s "$dir/dist/external_api.js") bytes"
}

build_binaries() {
  step "Building the app and the server"
  cargo build --locked -p consult-app -p consult-server
}
