-- wrk script: each request a new Alertmanager group of 4 alerts (about 2 KB),
-- so every request stores alerts, a message and an outbox entry.
-- Usage: wrk -s bench/unique_alerts.lua -H "Authorization: Bearer TOKEN" URL [-- PAUSE_MS]
-- PAUSE_MS: each connection waits this long after an answer before its next request
-- (the paced runs: rate ~ connections / (pause + latency)).
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  prefix = string.format("w%d-%d", id, math.random(1, 1000000000))
  pause = tonumber(args[1] or "0")
  wrk.headers["Content-Type"] = "application/json"  -- beside any -H (Authorization)
end

function delay()
  return pause
end

local function alert(n, k)
  return string.format(
    '{"status":"firing","labels":{"alertname":"BenchAlert","job":"bench",' ..
    '"instance":"host-%s-%d:9100","severity":"warning","shard":"%d","n":"%s"},' ..
    '"annotations":{"summary":"bench alert %s/%d","description":"%s"},' ..
    '"startsAt":"2026-11-22T01:00:00Z","endsAt":"0001-01-01T00:00:00Z",' ..
    '"generatorURL":"http://prometheus:9090/graph?g0.expr=up","fingerprint":"%s-%d"}',
    n, k, k, n, n, k, string.rep("x", 200), n, k)
end

function request()
  counter = counter + 1
  local n = prefix .. "-" .. counter
  local alerts = {}
  for k = 0, 3 do alerts[#alerts + 1] = alert(n, k) end
  local body = string.format(
    '{"version":"4","groupKey":"{}:{job=\\"bench\\",n=\\"%s\\"}","status":"firing",' ..
    '"receiver":"runbook-router","groupLabels":{"n":"%s"},"alerts":[%s]}',
    n, n, table.concat(alerts, ","))
  return wrk.format("POST", nil, nil, body)
end

done = function(summary, latency, requests)
  local failed = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, " ..
    "\"errors\": %d, \"p50_ms\": %.2f, \"p99_ms\": %.2f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.status, failed,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
