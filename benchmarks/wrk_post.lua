-- POSTs the same body on every request and prints one JSON line of results from done().
-- WRK_BODY_FILE: the request body; WRK_CONTENT_TYPE: its type (default application/json).
local body_file = assert(os.getenv("WRK_BODY_FILE"), "set WRK_BODY_FILE to the request body file")
local handle = assert(io.open(body_file, "rb"))
wrk.method = "POST"
wrk.body = handle:read("*a")
handle:close()
wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/json"

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
         .. '"mean_us": %.1f, "max_us": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeouts": %d, "non_2xx": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.mean, latency.max, errors.connect, errors.read,
      errors.write, errors.timeout, errors.status))
end
