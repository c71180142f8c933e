#!/usr/bin/env bash
# Make .venv with torch 2.13.0 (the CPU wheel) first, then the project and its dev tools. Idempotent:
# a second run only re-checks. Set STUDIO_PYTHON to choose the interpreter.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/.venv"
py="${STUDIO_PYTHON:-python3}"
stamp="$venv/.studio-setup"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
pip() { "$venv/bin/python" -m pip --disable-pip-version-check -q "$@"; }
# Re-install only when the project's requirements changed since the last setup.
want="$(cat "$here/pyproject.toml" "$here/setup.py" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$venv/bin/python" -c "import studio, torch" 2>/dev/null; then
  "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
    || pip install "torch==2.13.0"
  pip install -e "$here[dev]"
  echo "$want" > "$stamp"
fi
