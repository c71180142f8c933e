#!/usr/bin/env bash
# Set up (idempotent) and start the studio: ./scripts/run.sh [studio args]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
exec "$here/.venv/bin/studio" "$@"
