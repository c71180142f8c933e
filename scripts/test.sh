#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: ./scripts/test.sh [pytest args]
# With no arguments: every test that needs no real device in two pytest-xdist workers
# (STUDIO_TEST_WORKERS=N to change, 0 for one process), then the tests on the one JACK server / PulseAudio
# daemon (marker real_device) in one process. With arguments: pytest with them, in one process.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
cd "$here"
export QT_QPA_PLATFORM=offscreen
py="$here/.venv/bin/python"
if [ $# -gt 0 ]; then
    exec "$py" -m pytest "$@"
fi
workers=${STUDIO_TEST_WORKERS:-2}
parallel=(-n "$workers")
[ "$workers" = 0 ] && parallel=()
status=0
"$py" -m pytest "${parallel[@]}" -m "not real_device" || status=$?
"$py" -m pytest -m real_device || status=$((status ? status : $?))
exit "$status"
