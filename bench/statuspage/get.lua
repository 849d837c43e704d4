-- wrk script for bench/statuspage/run.py: GETs one path with the headers a browser sends
-- (Accept-Encoding: gzip), counts replies by status class, prints BENCH_JSON as
-- bench/ingest/rotate.lua does.
--
--   wrk -t2 -c16 -d10s -s get.lua http://127.0.0.1:PORT -- /status/
--   wrk ... -s get.lua http://127.0.0.1:PORT -- /status/ '"etag-gz"'   (a reload: If-None-Match)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] or "/"
  local headers = { ["Accept-Encoding"] = "gzip", ["Accept"] = "*/*" }
  if args[2] and args[2] ~= "" then
    headers["If-None-Match"] = args[2]
  end
  req = wrk.format("GET", path, headers)
  n2xx, n3xx, n4xx, n5xx = 0, 0, 0, 0
  first_error = ""
end

function request()
  return req
end

function response(status, headers, body)
  if status < 300 or status == 304 then
    n2xx = n2xx + 1 -- a 304 to a reload is a good answer
  elseif status < 400 then
    n3xx = n3xx + 1
  else
    if status < 500 then n4xx = n4xx + 1 else n5xx = n5xx + 1 end
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

local function json_string(text)
  text = text:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. text .. '"'
end

function done(summary, latency, requests)
  local c2, c3, c4, c5, err = 0, 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    c2 = c2 + (thread:get("n2xx") or 0)
    c3 = c3 + (thread:get("n3xx") or 0)
    c4 = c4 + (thread:get("n4xx") or 0)
    c5 = c5 + (thread:get("n5xx") or 0)
    local first = thread:get("first_error") or ""
    if err == "" then err = first end
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"status_2xx":%d,"status_3xx":%d,"status_4xx":%d,"status_5xx":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"first_error":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    c2, c3, c4, c5,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, json_string(err)))
end
