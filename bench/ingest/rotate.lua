-- wrk script for bench/ingest/run.py: rotates through prepared requests (many keys,
-- many bodies) and counts replies by status class.
--
--   wrk -t2 -c16 -d10s -s rotate.lua http://127.0.0.1:PORT -- REQUESTS_FILE SALT
--
-- REQUESTS_FILE has one request a line: "PATH<TAB>BODY". Every "@@N@@" in a body is
-- replaced by a value unique to this request (SALT, the thread number and a counter:
-- 10 hex digits), so that "distinct" bodies stay distinct however long the run is.
-- A file without the placeholder is replayed as it is (duplicate re-sends).

local threads = {}
local thread_number = 0

function setup(thread)
  thread:set("tid", thread_number)
  thread_number = thread_number + 1
  table.insert(threads, thread)
end

local entries = {}
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local path = args[1]
  salt = args[2] or "00"
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    local tab = line:find("\t", 1, true)
    if tab then
      local entry = { path = line:sub(1, tab - 1), body = line:sub(tab + 1) }
      entry.templated = entry.body:find("@@N@@", 1, true) ~= nil
      if not entry.templated then
        entry.request = wrk.format("POST", entry.path, headers, entry.body)
      end
      table.insert(entries, entry)
    end
  end
  file:close()
  assert(#entries > 0, "no requests in " .. path)
  -- Threads start at different places so they do not send the same body together.
  counter = tid * 7919
  n2xx, n3xx, n4xx, n5xx = 0, 0, 0, 0
  first_error = ""
end

function request()
  counter = counter + 1
  local entry = entries[(counter % #entries) + 1]
  if entry.request then
    return entry.request
  end
  local unique = string.format("%s%02x%06x", salt, tid, counter % 16777216)
  local body = entry.body:gsub("@@N@@", unique)
  return wrk.format("POST", entry.path, headers, body)
end

function response(status, headers, body)
  if status < 300 then
    n2xx = n2xx + 1
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
