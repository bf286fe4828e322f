-- wrk script for load-tests/run overhead --saturation: POSTs to args[2] the JSON bodies of the file
-- args[1] (one per line), each connection thread cycling through all of them from a random start;
-- at the end one JSON line with what WrkLoop reads. Requests are formatted once, in init, so wrk
-- spends its CPU on sockets rather than on Lua.
local requests = {}
local count = 0
local next = 0

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    requests[count] = wrk.format("POST", args[2], {["Content-Type"] = "application/json"}, line)
  end
  next = math.random(count) - 1
end

function request()
  next = next % count + 1
  return requests[next]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
