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

local tokens, i = {}, 0

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  i = math.floor(#tokens * id / tonumber(args[2]))
end

function request()
  i = i % #tokens + 1
  return wrk.format(nil, nil, { ["x-auth-token"] = tokens[i] })
end
