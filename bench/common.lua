-- Shared by every wrk script in bench/ (loaded with dofile).
--
-- Counts the responses that are not 2xx in each thread (wrk itself only
-- counts status >= 400) and prints one machine-readable line when the run
-- ends:
--   BENCH requests=.. secs=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--         non2xx=.. sockerr=.. connect=.. read=.. write=.. timeout=.. bytes=..
-- bench/run parses that line; `wrk --latency` prints the human version.

-- $BENCH_CLOSE: a new TLS connection for every request (the client
-- asks the server to close after each answer; wrk reconnects).
if os.getenv("BENCH_CLOSE") then
   wrk.headers["Connection"] = "close"
end

local threads = {}
local next_id = 0

-- Main Lua state: number the threads (each script uses `id` to make
-- its names unique) and remember them for done().
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

-- Per-thread state.
non2xx = 0
first_bad = nil

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_bad == nil then
         first_bad = status .. " " .. string.sub(body or "", 1, 200)
      end
   end
   if on_response then
      on_response(status)
   end
end

function done(summary, latency, requests)
   local bad, sample = 0, nil
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non2xx") or 0)
      sample = sample or t:get("first_bad")
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   local ms = function(p) return latency:percentile(p) / 1000 end
   io.write(string.format(
      "BENCH requests=%d secs=%.3f rps=%.2f p50_ms=%.3f p90_ms=%.3f " ..
      "p99_ms=%.3f max_ms=%.3f non2xx=%d sockerr=%d connect=%d read=%d " ..
      "write=%d timeout=%d bytes=%d\n",
      summary.requests, secs, summary.requests / secs, ms(50), ms(90),
      ms(99), latency.max / 1000, bad,
      e.connect + e.read + e.write + e.timeout,
      e.connect, e.read, e.write, e.timeout, summary.bytes))
   if sample then
      io.write("BENCH-FIRST-BAD " .. string.gsub(sample, "\n", " ") .. "\n")
   end
end
