-- wrk script: send the tokens of a file in turn, one per request, in the
-- x-auth-token header. Each thread starts at its own offset and wraps
-- around, so the whole set stays in use.
--   wrk -s rotate.lua <url> -- <token file> <threads>

local next_id = 0

-- setup runs in wrk's main Lua state, once per thread, before its init.
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local reqs, i = {}, 0

-- init formats every request once: wrk runs on the same cores as Caddy,
-- so a wrk.format per request would lower the rate for reasons of wrk's
-- own, not the gate's.
function init(args)
  for line in io.lines(args[1]) do
    reqs[#reqs + 1] = wrk.format(nil, nil, { ["x-auth-token"] = line })
  end
  i = math.floor(#reqs * id / tonumber(args[2]))
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
