#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: ./scripts/test.sh [pytest args]
# Two pytest-xdist workers (STUDIO_TEST_WORKERS=0 runs in one process); tests on one real device share a worker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
cd "$here"
export QT_QPA_PLATFORM=offscreen
exec "$here/.venv/bin/python" -m pytest -n "${STUDIO_TEST_WORKERS:-2}" --dist loadgroup "$@"
