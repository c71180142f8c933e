#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: ./scripts/test.sh [pytest args]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
cd "$here"
export QT_QPA_PLATFORM=offscreen
exec "$here/.venv/bin/python" -m pytest "$@"
