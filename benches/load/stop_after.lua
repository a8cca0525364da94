-- wrk script: each thread stops after the number of responses given after
-- `--`, so every server is measured after the same amount of work.
local limit, seen

function init(args)
  limit = tonumber(args[1]) or 10000
  seen = 0
end

function response(status, headers, body)
  seen = seen + 1
  if seen >= limit then
    wrk.thread:stop()
  end
end
