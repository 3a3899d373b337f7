#!/usr/bin/env bash
# Installs the pinned Evidently (packages/monitoring/oracle/requirements.txt) into the project
# cache, .cache/evidently-venv, where the monitoring package's oracle tests look for it.
# Idempotent: does nothing when the venv was built from the same requirements file.
set -euo pipefail
cd "$(dirname "$0")/../.."
req="packages/monitoring/oracle/requirements.txt"
venv=".cache/evidently-venv"
want=$(sha256sum "$req" | cut -c1-64)
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.skiff-requirements" 2>/dev/null)" = "$want" ]; then
  echo "[evidently] already installed in $venv"
  exit 0
fi
echo "[evidently] installing $(grep -c '==' "$req") pinned packages into $venv (pip, PyPI)"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import evidently; print("[evidently]", evidently.__version__, "installed")'
echo "$want" >"$venv/.skiff-requirements"
