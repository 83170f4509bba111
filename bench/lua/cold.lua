-- wrk script: send every token once. Thread <id> reads <prefix>-<id>.txt;
-- the harness writes a distinct set per thread and run, so no token is
-- ever sent twice. A thread that runs out sends requests without a token
-- (refused: wrk counts them as non-2xx) and counts them; done prints the
-- total for the harness to report.
--   wrk -s cold.lua <url> -- <prefix>

local threads, next_id = {}, 0

-- setup runs in wrk's main Lua state, once per thread, before its init.
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

local data, pos = "", 1
local head, tail, bare = "", "", ""
exhausted = 0 -- global: done reads it with thread:get

-- init reads the file whole, not line by line into a table: wrk starts
-- each thread right after its init, so a slow init would let the threads
-- before it run alone, uncounted in wrk's clock, for that long.
function init(args)
  local f = assert(io.open(args[1] .. "-" .. id .. ".txt", "rb"))
  data = f:read("*a")
  f:close()
  -- A request is head .. token .. tail: one concatenation per request
  -- instead of a wrk.format, which would cost wrk (on the same cores as
  -- Caddy) more than the gate's own work.
  head, tail = string.match(wrk.format(nil, nil, { ["x-auth-token"] = "\0" }), "^(.-)%z(.*)$")
  bare = wrk.format()
end

function request()
  local nl = string.find(data, "\n", pos, true)
  if nl == nil then
    exhausted = exhausted + 1
    return bare
  end
  local token = string.sub(data, pos, nl - 1)
  pos = nl + 1
  return head .. token .. tail
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("exhausted")
  end
  io.write(string.format("tokens exhausted: %d\n", n))
end
