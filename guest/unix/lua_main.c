/* lua: a minimal stand-alone Lua interpreter (lua-src ships the Lua core and
 * libraries but not lua.c).
 *
 *   lua SCRIPT [ARGS...]     run SCRIPT with the global `arg` table set as
 *                            in the standard interpreter (arg[0] = SCRIPT)
 *   lua -e CODE              run CODE
 *
 * Errors are reported on stderr with a traceback; the exit status is 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lua SCRIPT [ARGS...] | lua -e CODE\n");
        return 2;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "lua: cannot create state\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    int status;
    if (!strcmp(argv[1], "-e") && argc > 2)
        status = luaL_loadstring(L, argv[2]);
    else
        status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        int nargs = 0;
        if (strcmp(argv[1], "-e") != 0)
            for (int i = 2; i < argc; i++, nargs++)
                lua_pushstring(L, argv[i]);
        status = lua_pcall(L, nargs, 0, 1);
    }
    if (status != LUA_OK) {
        fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    fflush(stdout);
    lua_close(L);
    return 0;
}
