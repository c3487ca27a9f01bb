"""Read `cargo metadata --format-version 1` on stdin; print make variables
SQLITE_DIR (libsqlite3-sys's bundled sqlite3/) and LUA_DIR (lua-src's Lua 5.4
sources) for the Makefile."""
import glob
import json
import os
import sys

meta = json.load(sys.stdin)
dirs = {}
for pkg in meta["packages"]:
    dirs[pkg["name"]] = os.path.dirname(pkg["manifest_path"])

def need(name):
    if name not in dirs:
        sys.exit("tp_locate.py: package %s not in cargo metadata" % name)
    return dirs[name]

sqlite = os.path.join(need("libsqlite3-sys"), "sqlite3")
if not os.path.isfile(os.path.join(sqlite, "sqlite3.c")):
    sys.exit("tp_locate.py: no sqlite3.c in %s" % sqlite)
luas = sorted(glob.glob(os.path.join(need("lua-src"), "lua-5.4*")))
if not luas or not os.path.isfile(os.path.join(luas[-1], "lua.h")):
    sys.exit("tp_locate.py: no Lua 5.4 sources in %s" % need("lua-src"))
print("SQLITE_DIR := %s" % sqlite)
print("LUA_DIR := %s" % luas[-1])
