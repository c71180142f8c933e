#!/usr/bin/env bash
# `pip install .` (not editable) into a fresh venv, then use the installed studio from outside the repo:
# shipped models, corpora and resources must come from the installed package.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip --disable-pip-version-check -q install "torch==2.13.0"
"$tmp/venv/bin/python" -m pip --disable-pip-version-check -q install "$here"
cd "$tmp"
STUDIO_HOME="$tmp/home" "$tmp/venv/bin/python" - <<'PY'
import studio, studio.paths as p
root = str(p.shipped("corpora"))
assert "site-packages" in root, f"shipped data not from the installed package: {root}"
for kind in ("models", "corpora", "resources"):
    files = [x.name for x in p.shipped(kind).iterdir()]
    assert files, f"installed package has an empty {kind}/"
assert p.shipped_path("corpora", "examples", "session-tunes.abc").is_file()
assert p.shipped_path("resources", "icons", "studio.svg").is_file()
print("wheel install: shipped data found in", root)
PY
STUDIO_HOME="$tmp/home" "$tmp/venv/bin/studio" --help >/dev/null
STUDIO_HOME="$tmp/home" "$tmp/venv/bin/studio" info "$("$tmp/venv/bin/python" -c 'import studio.paths as p; print(p.shipped_path("corpora","examples","session-tunes.abc"))')" >/dev/null
echo "wheel install: studio --help and studio info work"
