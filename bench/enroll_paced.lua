-- POST /swarm/enroll (as enroll.lua), one request every $BENCH_DELAY_MS
-- milliseconds per connection (default 1000): with -c1, the latency of a
-- single enrollment on an otherwise idle service.  wrk's latency does not
-- include the delay.
dofile(os.getenv("BENCH_DIR") .. "/enroll.lua")

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "1000")

function delay()
   return pause
end
