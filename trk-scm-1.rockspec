-- luarocks make: the tracker module (tracker.so and trk's Lua modules) for plain Lua 5.4,
-- and the trk executable. Built by the project's CMakeLists.txt, which also embeds the
-- client's Lua code into tracker.so; its install rules put the module in the rock's
-- LIBDIR and LUADIR. Needs the Debian packages the Makefile's DEBS lists (libcurl,
-- libmicrohttpd, SQLite, lua-cjson), not other rocks.
rockspec_format = "3.0"
package = "trk"
version = "scm-1"
source = {
  url = "git+file:///dev/null",   -- luarocks make builds the checked-out tree
}
description = {
  summary = "A sandboxed scripting host and Lua client for Tracker RMS",
  detailed = [[
    The tracker module (connect, record streams, lookups, checked and journalled writes),
    tracker.testing (a busted kit with an in-process emulator), tracker.migrate, and trk,
    which runs scripts and rules in a sandbox.
  ]],
  license = "Proprietary",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    TRK_LUA_CDIR = "$(LIBDIR)",
    TRK_LUA_LDIR = "$(LUADIR)",
  },
}
