-- bench.lua: a deterministic Lua workload for the UNIX mound (run by the
-- `lua` guest program built from the lua-src crate).  Every result is
-- printed; the output is identical on Alpha and x86-64 and between runs
-- (string hashing uses a fixed seed, math.random is seeded, and table
-- traversal order is never printed unsorted).
--   lua bench.lua [SCALE]     SCALE 1 by default

local scale = tonumber(arg and arg[1]) or 1
local fails = 0
local function check(what, cond)
  if not cond then
    fails = fails + 1
    print("FAIL: " .. what)
  end
end

-- A 32-bit FNV-1a hash over strings, to summarise big results.
local function fnv(h, s)
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff
  end
  return h
end

print(string.format("bench.lua: %s, scale %d", _VERSION, scale))

-- 1. Recursion and calls.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local f = fib(24 + scale)
print("fib", 24 + scale, f)

-- 2. Strings: building, formatting, patterns, gsub, rep, byte/char.
do
  local parts = {}
  for i = 1, 20000 * scale do
    parts[#parts + 1] = string.format("%05d:%s;", i, string.char(97 + i % 26):rep(i % 7 + 1))
  end
  local s = table.concat(parts)
  local h = fnv(2166136261, s:sub(1, 200000))
  local count = 0
  for word in s:gmatch("(%a+);") do
    if #word >= 4 then count = count + 1 end
  end
  local replaced, n = s:gsub("(%d+):", function(d) return tonumber(d) % 3 == 0 and "" or nil end)
  local up = s:sub(1, 60):upper()
  print("strings", #s, string.format("%08x", h), count, n, #replaced)
  print("strings", up)
  print("strings", ("spin"):rep(3, "-"), ("%d %5.2f %-6s| %x %q"):format(42, math.pi, "ab", 255, "a\nb"))
  check("find", s:find("00100:", 1, true) ~= nil and select(2, s:find("%d+")) == 5)
end

-- 3. Tables: arrays, hashes, sort with a comparator, deterministic traversal.
do
  math.randomseed(42)
  local arr = {}
  for i = 1, 60000 * scale do arr[i] = math.random(1, 1000000) end
  local copy = table.move(arr, 1, #arr, 1, {})
  table.sort(arr)
  table.sort(copy, function(a, b) return a > b end)
  local ok = true
  for i = 2, #arr do if arr[i - 1] > arr[i] then ok = false end end
  check("sorted", ok and arr[1] == copy[#copy])
  local sum = 0
  for _, v in ipairs(arr) do sum = sum + v end
  print("tables", #arr, arr[1], arr[#arr // 2], arr[#arr], sum)

  local counts = {}
  for i = 1, 50000 * scale do
    local key = "k" .. (i * 7919 % 1000)
    counts[key] = (counts[key] or 0) + 1
  end
  local keys = {}
  for k in pairs(counts) do keys[#keys + 1] = k end
  table.sort(keys)
  local h = 2166136261
  for _, k in ipairs(keys) do h = fnv(h, k .. "=" .. counts[k]) end
  print("tables", #keys, keys[1], keys[#keys], string.format("%08x", h))
  table.insert(keys, 1, "first")
  table.remove(keys, 2)
  print("tables", keys[1], keys[2], #keys, table.unpack({1, 2, 3}))
end

-- 4. Closures and higher-order functions.
do
  local function counter(step)
    local n = 0
    return function() n = n + step; return n end
  end
  local cs = {}
  for i = 1, 100 do cs[i] = counter(i) end
  local total = 0
  for _ = 1, 200 * scale do
    for i = 1, 100 do total = total + cs[i]() end
  end
  local function map(t, fn) local r = {} for i, v in ipairs(t) do r[i] = fn(v) end return r end
  local function filter(t, fn) local r = {} for _, v in ipairs(t) do if fn(v) then r[#r + 1] = v end end return r end
  local function reduce(t, fn, acc) for _, v in ipairs(t) do acc = fn(acc, v) end return acc end
  local nums = {}
  for i = 1, 10000 * scale do nums[i] = i end
  local r = reduce(filter(map(nums, function(x) return x * x end), function(x) return x % 3 == 1 end),
                   function(a, b) return a + b end, 0)
  print("closures", total, r)
end

-- 5. Coroutines: generators, a pipeline, status and wrap.
do
  local function gen(n)
    return coroutine.wrap(function()
      for i = 1, n do coroutine.yield(i) end
    end)
  end
  local function filt(src, pred)
    return coroutine.wrap(function()
      for v in src do if pred(v) then coroutine.yield(v) end end
    end)
  end
  local s, c = 0, 0
  for v in filt(gen(50000 * scale), function(x) return x % 7 == 3 end) do
    s = s + v
    c = c + 1
  end
  local co = coroutine.create(function(a, b)
    local x = coroutine.yield(a + b)
    local y = coroutine.yield(x * 2)
    return x + y
  end)
  local _, r1 = coroutine.resume(co, 1, 2)
  local _, r2 = coroutine.resume(co, 10)
  local _, r3 = coroutine.resume(co, 5)
  print("coroutines", c, s, r1, r2, r3, coroutine.status(co))
  check("dead resume", not coroutine.resume(co))
end

-- 6. Numbers: integer and float arithmetic, bit operations, a sieve.
do
  local n = 200000 * scale
  local sieve = {}
  local primes = 0
  for i = 2, n do
    if not sieve[i] then
      primes = primes + 1
      for j = i * i, n, i do sieve[j] = true end
    end
  end
  local acc = 0.0
  for i = 1, 100000 * scale do acc = acc + math.sqrt(i) / (i + 1.5) end
  local bits = 0
  for i = 1, 100000 do bits = bits ~ ((i << 3) | (i >> 2)) ~ (i * 2654435761 & 0xffff) end
  print("numbers", primes, string.format("%.6f", acc), bits, 7 // 2, -7 // 2, 7 % -3, 2^10, 10 / 4)
  print("numbers", math.maxinteger, math.mininteger, math.tointeger(3.0), math.type(1), math.type(1.0),
        math.floor(-3.5), math.ceil(-3.5), math.abs(-4), math.fmod(7, 3), string.format("%.3f", math.pi))
  local r = {}
  math.randomseed(7)
  for i = 1, 5 do r[i] = math.random(100) end
  print("numbers", table.concat(r, " "), string.format("%.10f", math.random()))
end

-- 7. Metatables: a small vector class.
do
  local V = {}
  V.__index = V
  local function vec(x, y) return setmetatable({x = x, y = y}, V) end
  V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
  V.__mul = function(a, k) return vec(a.x * k, a.y * k) end
  V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
  V.__tostring = function(a) return "(" .. a.x .. "," .. a.y .. ")" end
  V.__len = function(a) return a.x * a.x + a.y * a.y end
  function V:dot(o) return self.x * o.x + self.y * o.y end
  local p = vec(0, 0)
  for i = 1, 20000 * scale do p = p + vec(i % 5, i % 3) * 2 end
  print("metatables", tostring(p), #vec(3, 4), vec(1, 2) == vec(1, 2), vec(1, 2):dot(vec(3, 4)))
  local proxy = setmetatable({}, {__index = function(_, k) return k .. "!" end,
                                  __newindex = function(t, k, v) rawset(t, k, v * 10) end})
  proxy.a = 5
  print("metatables", proxy.a, proxy.zzz)
end

-- 8. Errors.
do
  local ok, err = pcall(function() error({code = 42}) end)
  print("errors", ok, type(err), err.code)
  ok, err = pcall(function() local t = nil; return t.x end)
  print("errors", ok, (err:gsub("^.-:%d+: ", "")))
  ok, err = pcall(error, "plain", 0)
  print("errors", ok, err)
  print("errors", select("#", pcall(function() return 1, 2, 3 end)))
  local depth = 0
  local function deep() depth = depth + 1; return deep() + 1 end
  ok, err = pcall(deep)
  print("errors", ok, err:match("stack overflow") ~= nil, depth > 1000)
end

-- 9. Garbage: lots of short-lived objects, then a full collection.
do
  local keep = {}
  for i = 1, 100000 * scale do
    local t = {i, tostring(i), {i}}
    if i % 1000 == 0 then keep[#keep + 1] = t end
  end
  collectgarbage("collect")
  print("gc", #keep, keep[#keep][2], collectgarbage("count") > 0)
end

if fails > 0 then
  print("FAIL: bench.lua: " .. fails .. " checks failed")
  os.exit(1)
end
print("bench.lua: all checks passed")
