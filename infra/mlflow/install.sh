#!/usr/bin/env bash
# Installs the pinned MLflow (infra/mlflow/requirements.txt) into the project cache,
# .cache/mlflow-venv, where packages/registry-mlflow's tests look for it. Idempotent: does
# nothing when the venv already has the pinned version.
set -euo pipefail
cd "$(dirname "$0")/../.."
req="infra/mlflow/requirements.txt"
venv="${SKIFF_MLFLOW_VENV:-.cache/mlflow-venv}"
want=$(sed -n 's/^mlflow==\([^ ]*\).*/\1/p' "$req")
if [ -x "$venv/bin/mlflow" ] && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null)" = "$want" ]; then
  echo "mlflow $want already in $venv"
  exit 0
fi
echo "[mlflow] installing mlflow==$want into $venv (pip, PyPI)"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import importlib.metadata as m; print("mlflow", m.version("mlflow"), "installed in '"$venv"'")'
