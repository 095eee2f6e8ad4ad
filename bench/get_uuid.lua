-- GET /swarm/hosts/{uuid}, each request for a real host picked at random
-- from $BENCH_UUIDS (one uuid a line, written by bench/run from the table).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local uuids = {}

function init(args)
   for line in io.lines(os.getenv("BENCH_UUIDS")) do
      if line ~= "" then
         table.insert(uuids, line)
      end
   end
   if #uuids == 0 then
      error("no uuids in " .. os.getenv("BENCH_UUIDS"))
   end
   math.randomseed(os.time() + 7919 * id)
end

function request()
   return wrk.format("GET", "/swarm/hosts/" .. uuids[math.random(#uuids)])
end
