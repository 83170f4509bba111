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

local tokens, i = {}, 0
exhausted = 0 -- global: done reads it with thread:get

function init(args)
  for line in io.lines(args[1] .. "-" .. id .. ".txt") do
    tokens[#tokens + 1] = line
  end
end

function request()
  i = i + 1
  local t = tokens[i]
  if t == nil then
    exhausted = exhausted + 1
    return wrk.format()
  end
  return wrk.format(nil, nil, { ["x-auth-token"] = t })
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("exhausted")
  end
  io.write(string.format("tokens exhausted: %d\n", n))
end
