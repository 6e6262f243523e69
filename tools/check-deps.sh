#!/usr/bin/env bash
# check-deps.sh: are the Debian packages the build needs installed? Exit 0 if yes; otherwise list what is
# missing (unless --quiet) and exit 1. The list is the one tools/install-deps.sh installs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
missing=()
for pkg in $(grep -v '^#' "$here/debian-packages.txt"); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [ "${1:-}" = --quiet ] || echo "missing Debian packages: ${missing[*]}"
  exit 1
fi
exit 0
