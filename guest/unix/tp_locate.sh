#!/bin/sh
# tp_locate.sh MANIFEST — print the make variables SQLITE_DIR and LUA_DIR
# (sources of the libsqlite3-sys and lua-src crates) from `cargo metadata`.
# Parses the JSON with python3 when present, else jq, else grep/sed.
set -eu
CARGO=${CARGO:-cargo}
meta=$("$CARGO" metadata --format-version 1 --manifest-path "$1")
here=$(dirname "$0")
if command -v python3 >/dev/null 2>&1; then
    printf '%s' "$meta" | python3 "$here/tp_locate.py"
    exit
fi
if command -v jq >/dev/null 2>&1; then
    manifest() { printf '%s' "$meta" | jq -r --arg n "$1" '.packages[] | select(.name == $n) | .manifest_path'; }
else
    manifest() {
        printf '%s' "$meta" | grep -o "\"manifest_path\":\"[^\"]*/$1-[0-9][^\"]*/Cargo.toml\"" |
            head -1 | sed 's/^"manifest_path":"//; s/"$//'
    }
fi
sq=$(dirname "$(manifest libsqlite3-sys)")/sqlite3
lua=$(ls -d "$(dirname "$(manifest lua-src)")"/lua-5.4* | sort | tail -1)
[ -f "$sq/sqlite3.c" ] || { echo "tp_locate.sh: no sqlite3.c in $sq" >&2; exit 1; }
[ -f "$lua/lua.h" ] || { echo "tp_locate.sh: no Lua 5.4 sources in $lua" >&2; exit 1; }
echo "SQLITE_DIR := $sq"
echo "LUA_DIR := $lua"
