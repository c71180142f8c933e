#!/usr/bin/env bash
# Set up (idempotent) and start the studio: ./scripts/run.sh [studio args]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
# The window (no command, or only files to open) on X11 needs Qt's xcb libraries: check them first.
gui=1
for a in "$@"; do [ -f "$a" ] || gui=0; done
if [ "$gui" = 1 ] && [ "$(uname)" = Linux ] && [ -n "${DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-xcb}" = xcb ]; then
  "$here/scripts/gui_libs.sh" "$here/.venv/bin/python" || exit 1
fi
exec "$here/.venv/bin/studio" "$@"
