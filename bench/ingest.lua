-- wrk script of bench/ingest: OpsLevel deploys with unique dedup_ids.
--
--   wrk … -s bench/ingest.lua http://HOST:PORT/integrations/deploy/<uuid> -- RUN_ID
--
-- Every request posts the OpsLevel doc's payload (service `bench`) with a `dedup_id` unique
-- across threads and runs (`RUN_ID-<thread>-<n>`), so each 202 is a new deploy. At the end
-- one machine-readable line is printed, as bench/wrk.lua does:
--
--   WRK_RESULT requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N max_us=N
--              connect_errors=N read_errors=N write_errors=N timeouts=N non2xx=N

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   run_id = args[1] or "run"
   counter = 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local body = string.format(
      '{"dedup_id":"%s-%d-%d","service":"bench","deployer":{"email":"ci@example.com","name":"CI"},' ..
      '"deployed_at":"2024-05-01 13:28:33","environment":"production",' ..
      '"description":"Deployed by CI Pipeline: Deploy #%d","deploy_url":"https://ci.example.com/%d",' ..
      '"commit":{"sha":"38d02f1d7aab64678a7ad3eeb2ad2887ce7253f5","branch":"main"}}',
      run_id, thread_id, counter, counter, counter)
   return wrk.format(nil, nil, nil, body)
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
