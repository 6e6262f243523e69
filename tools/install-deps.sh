#!/usr/bin/env bash
# install-deps.sh: install the Debian packages listed in tools/debian-packages.txt (needs root or sudo).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(grep -v '^#' "$here/debian-packages.txt" | tr '\n' ' ')
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "install-deps: apt-get install $pkgs"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "install-deps: done"
