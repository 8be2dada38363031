#!/usr/bin/env bash
# Render the working tree (uncommitted changes included) into a folder, for hands-on work:
#   scripts/render.sh DEST [copier --data options...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$here/." "$tmp/"
rm -rf "$tmp/.git"
git -C "$tmp" init -q
git -C "$tmp" add -A
git -C "$tmp" -c user.name=render -c user.email=render@localhost commit -qm render
rm -rf "$dest"
uvx --quiet copier copy --trust --defaults --vcs-ref HEAD "$@" "$tmp" "$dest" >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; exit 1; }
