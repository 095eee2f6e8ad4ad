-- DELETE /swarm/hosts/{uuid}, each uuid of $BENCH_UUIDS exactly once
-- (thread i takes lines i, i + $BENCH_THREADS, ...).  When a thread has
-- sent all of its DELETEs it sends GET /health until every one has been
-- answered, then stops and drops $BENCH_DONE_DIR/<id> (fail-<id> on a
-- response other than 204/200): bench/run watches for those files and
-- ends wrk with SIGINT, as for enroll.lua's quota mode.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local mine = {}
local health = nil
local sent = 0
deleted = 0

local verify_call = false

function init(args)
   local n = 0
   for line in io.lines(os.getenv("BENCH_UUIDS")) do
      if line ~= "" then
         if n % nthreads == id then
            table.insert(mine, line)
         end
         n = n + 1
      end
   end
   health = wrk.format("GET", "/health")
   -- wrk calls request() once in thread 0's state to check it and never
   -- sends that one: answer it with a request that takes no uuid.
   verify_call = (id == 0)
end

local function finish(tag)
   local f = io.open(os.getenv("BENCH_DONE_DIR") .. "/" .. tag .. id, "w")
   if f then
      f:close()
   end
   wrk.thread:stop()
end

function request()
   if verify_call then
      verify_call = false
      return health
   end
   if sent >= #mine then
      if #mine == 0 then
         finish("")
      end
      return health
   end
   sent = sent + 1
   return wrk.format("DELETE", "/swarm/hosts/" .. mine[sent])
end

function on_response(status)
   if status == 204 then
      deleted = deleted + 1
   end
   if status ~= 204 and status ~= 200 then
      finish("fail-")
   elseif deleted >= #mine then
      finish("")
   end
end
