-- wrk script of bench/run.
--
--   wrk … -s bench/wrk.lua URL -- get TOKEN
--   wrk … -s bench/wrk.lua URL -- create TOKEN [ENVIRONMENT]
--
-- `create` posts the create-deployment body of the benchmark (ref `main`, resolved through the
-- repository's git mirror). At the end one machine-readable line is printed:
--
--   WRK_RESULT requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N max_us=N
--              connect_errors=N read_errors=N write_errors=N timeouts=N non2xx=N
--
-- (wrk's own `--latency` table is printed above it; both come from the same histogram.)

function init(args)
   local mode = args[1] or "get"
   local token = args[2] or "T"
   wrk.headers["Authorization"] = "token " .. token
   wrk.headers["Accept"] = "application/vnd.github+json"
   if mode == "create" then
      local env = args[3] or "staging"
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/json"
      wrk.body = '{"ref":"main","environment":"' .. env .. '","required_contexts":[]}'
   elseif mode ~= "get" then
      error("wrk.lua: mode must be get or create, not " .. mode)
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d non2xx=%d\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.timeout, e.status))
end
