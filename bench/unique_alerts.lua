-- wrk script: each request a new group of 4 alerts (about 2 KB), so every request
-- stores alerts, a message and an outbox entry.
-- Usage: wrk -s bench/unique_alerts.lua -H "Authorization: Bearer TOKEN" URL [-- PAUSE_MS [LOAD [FORMAT]]]
-- PAUSE_MS: each connection waits this long after an answer before its next request
-- (the paced runs: rate ~ connections / (pause + latency)); default 0.
-- LOAD: sharded (default): the 4 alerts on shards 0-3 of the ten `shard` routes of
--   tests/conftest.py's sharded_routes; realistic: the teams, alert names and
--   severities bench/realistic_routes.yaml routes, most of them to the platform team.
-- FORMAT: webhook (default): an Alertmanager webhook, POST it to /webhooks/alertmanager;
--   api: the same 4 alerts as Alertmanager's own POST /api/v2/alerts takes them (a JSON
--   list of postable alerts), POST it to Alertmanager's /api/v2/alerts.
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  prefix = string.format("w%d-%d", id, math.random(1, 1000000000))
  pause = tonumber(args[1] or "0")
  routes = args[2] or "sharded"  -- not `load`: that is Lua's own
  shape = args[3] or "webhook"
  assert(routes == "sharded" or routes == "realistic", "LOAD: sharded or realistic")
  assert(shape == "webhook" or shape == "api", "FORMAT: webhook or api")
  wrk.headers["Content-Type"] = "application/json"  -- beside any -H (Authorization)
end

function delay()
  return pause
end

-- The realistic load's groups, one per request in turn: 14 of 20 to the platform team.
local groups = {
  {team = "platform", alertname = "KubePodCrashLooping", severity = "warning", namespace = "checkout"},
  {team = "platform", alertname = "NodeFilesystemSpaceFillingUp", severity = "warning", namespace = "node-exporter"},
  {team = "platform", alertname = "KubeDeploymentReplicasMismatch", severity = "warning", namespace = "orders"},
  {team = "platform", alertname = "TargetDown", severity = "warning", namespace = "monitoring"},
  {team = "platform", alertname = "KubePodCrashLooping", severity = "critical", namespace = "payments"},
  {team = "platform", alertname = "NodeMemoryHigh", severity = "warning", namespace = "node-exporter"},
  {team = "platform", alertname = "KubePersistentVolumeFillingUp", severity = "warning", namespace = "search"},
  {team = "platform", alertname = "KubeCPUOvercommit", severity = "warning", namespace = "kube-system"},
  {team = "platform", alertname = "NodeNotReady", severity = "critical", namespace = "node-exporter"},
  {team = "platform", alertname = "KubeDeploymentRolloutStuck", severity = "warning", namespace = "catalog"},
  {team = "platform", alertname = "KubePodCrashLooping", severity = "warning", namespace = "identity"},
  {team = "platform", alertname = "TargetDown", severity = "info", namespace = "monitoring"},
  {team = "platform", alertname = "KubeJobFailed", severity = "warning", namespace = "batch"},
  {team = "platform", alertname = "NodeFilesystemSpaceFillingUp", severity = "critical", namespace = "node-exporter"},
  {team = "payments", alertname = "HighErrorRate", severity = "critical", namespace = "checkout", service = "checkout"},
  {team = "payments", alertname = "UpstreamTimeouts", severity = "warning", namespace = "checkout", service = "psp-gateway"},
  {team = "data", alertname = "CeleryQueueBacklog", severity = "warning", namespace = "etl", service = "ingest-workers"},
  {team = "analytics", alertname = "DatabaseConnectionPoolHigh", severity = "error", namespace = "warehouse", service = "pgbouncer"},
  {team = "search", alertname = "SearchLatencyHigh", severity = "warning", namespace = "search", service = "query"},
  {team = "identity", alertname = "CertificateExpiringSoon", severity = "info", namespace = "identity", service = "login"},
}

local function object(fields)
  -- fields: a list of {key, value}; a value is a string or an already encoded object.
  local parts = {}
  for _, kv in ipairs(fields) do
    local value = kv[3] and kv[2] or string.format('"%s"', kv[2])
    parts[#parts + 1] = string.format('"%s":%s', kv[1], value)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- One alert's labels and annotations: the k-th of request n's group.
local function labels(n, k)
  if routes == "sharded" then
    return {
      {"alertname", "BenchAlert"}, {"job", "bench"}, {"instance", string.format("host-%s-%d:9100", n, k)},
      {"severity", "warning"}, {"shard", tostring(k)}, {"n", n},
    }, {{"summary", string.format("bench alert %s/%d", n, k)}, {"description", string.rep("x", 200)}}
  end
  local g = groups[counter % #groups + 1]
  local list = {
    {"alertname", g.alertname}, {"team", g.team}, {"severity", g.severity},
    {"cluster", "prod-eu-1"}, {"env", "prod"}, {"namespace", g.namespace},
    {"job", g.service or "kubelet"}, {"instance", string.format("10.4.%d.%d:9100", counter % 250, k)},
    {"pod", string.format("%s-%s-%d", g.namespace, n, k)}, {"n", n},
  }
  if g.service then list[#list + 1] = {"service", g.service} end
  return list, {
    {"summary", string.format("%s on %s-%s-%d", g.alertname, g.namespace, n, k)},
    {"description", string.format("%s has fired for 5 minutes. ", g.alertname) .. string.rep("x", 150)},
    {"runbook_url", "https://runbooks.example.com/" .. g.alertname},
  }
end

local function alert(n, k)
  local l, a = labels(n, k)
  local fields = {
    {"labels", object(l), true}, {"annotations", object(a), true},
    {"startsAt", "2026-11-22T01:00:00Z"}, {"endsAt", "0001-01-01T00:00:00Z"},
    {"generatorURL", "http://prometheus:9090/graph?g0.expr=up"},
  }
  if shape == "webhook" then
    table.insert(fields, 1, {"status", "firing"})
    fields[#fields + 1] = {"fingerprint", string.format("%s-%d", n, k)}
  end
  return object(fields)
end

function request()
  counter = counter + 1
  local n = prefix .. "-" .. counter
  local alerts = {}
  for k = 0, 3 do alerts[#alerts + 1] = alert(n, k) end
  local list = "[" .. table.concat(alerts, ",") .. "]"
  if shape == "api" then
    return wrk.format("POST", nil, nil, list)
  end
  local body = string.format(
    '{"version":"4","groupKey":"{}:{job=\\"bench\\",n=\\"%s\\"}","status":"firing",' ..
    '"receiver":"runbook-router","groupLabels":{"n":"%s"},"alerts":%s}',
    n, n, list)
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
