#!/usr/bin/env bash
# Check that Qt's X11 platform plugin (xcb) finds every system library it needs; install what is missing
# with apt-get where we can (root, or sudo without a password), else say exactly what to install.
# Usage: scripts/gui_libs.sh PYTHON   (exit 0: all there; 1: something is still missing)
set -uo pipefail
py="${1:-python3}"
plugin="$("$py" -c 'import PySide6, pathlib; p = pathlib.Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so"; print(p if p.exists() else "")' 2>/dev/null)"
[ -n "$plugin" ] && command -v ldd >/dev/null || exit 0   # not Linux/X11, or nothing to check with

missing_libs() { ldd "$plugin" 2>/dev/null | awk '/not found/ {print $1}' | sort -u; }

# A library's Debian/Ubuntu package: libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 ->
# libxkbcommon-x11-0 (a dash when the name ends in a digit), libX11-xcb.so.1 -> libx11-xcb1.
package_of() {
  local name="${1%%.so*}" version="${1##*.so.}"
  name="$(echo "$name" | tr 'A-Z' 'a-z')"
  case "$name" in
    libglib-2.0|libgthread-2.0) echo "libglib2.0-0"; return ;;
  esac
  if [[ "$name" =~ [0-9]$ ]]; then echo "$name-$version"; else echo "$name$version"; fi
}

libs="$(missing_libs)"
[ -z "$libs" ] && exit 0
pkgs="$(for l in $libs; do package_of "$l"; done | sort -u | tr '\n' ' ')"
echo "The studio window needs system libraries that are missing: $(echo $libs | tr '\n' ' ')" >&2
if command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" != none ]; then
    echo "Installing: $pkgs" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null 2>&1
    $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null 2>&1 || true
    libs="$(missing_libs)"
    [ -z "$libs" ] && { echo "Installed." >&2; exit 0; }
    pkgs="$(for l in $libs; do package_of "$l"; done | sort -u | tr '\n' ' ')"
  fi
  echo "Install them with:  sudo apt-get install $pkgs" >&2
else
  echo "Install the packages that provide them (Fedora: dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms; Debian/Ubuntu names: $pkgs)" >&2
fi
echo "(or run a command without the window, e.g. ./scripts/run.sh --help)" >&2
exit 1
