-- POST /swarm/enroll with a name no other request uses:
-- $BENCH_PREFIX-<thread id>-<counter>.
--
-- With $BENCH_QUOTA (seeding: exactly that many hosts over all threads),
-- each thread sends its share of enrollments and then only GET /health
-- until every one of its enrollments has answered 201, then stops and
-- drops the file $BENCH_DONE_DIR/<id> (a response other than 201/200
-- drops fail-<id> instead): wrk itself would sleep out its -d, so
-- bench/run watches for those files and ends it with SIGINT.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local prefix = os.getenv("BENCH_PREFIX") or "bench"
local quota_total = tonumber(os.getenv("BENCH_QUOTA") or "")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local headers = { ["Content-Type"] = "application/json" }
-- $BENCH_CSR_JSON: a CSR (as a JSON string) sent with every enrollment,
-- so the worker's key is its own and the controller makes none.
local csr = os.getenv("BENCH_CSR_JSON")
local csr_field = csr and (',"csr_pem":' .. csr) or ""
local health = nil
local quota = nil
local sent = 0
created = 0

local verify_call = false

function init(args)
   if quota_total then
      quota = math.floor(quota_total / nthreads)
      if id < quota_total % nthreads then
         quota = quota + 1
      end
      health = wrk.format("GET", "/health")
      -- wrk calls request() once in thread 0's state before any thread
      -- runs, to check it (script_verify_request), and never sends that
      -- one: answer it with a /health request that does not count.
      verify_call = (id == 0)
   end
end

function request()
   if verify_call then
      verify_call = false
      return health
   end
   if quota and sent >= quota then
      return health
   end
   local name = string.format("%s-%d-%d", prefix, id, sent)
   local addr = string.format("10.%d.%d.%d", id % 250,
      math.floor(sent / 250) % 250, sent % 250 + 1)
   sent = sent + 1
   return wrk.format("POST", "/swarm/enroll", headers,
      '{"name":"' .. name .. '","address":"' .. addr ..
      '","agent_port":8765,"sans":[]' .. csr_field .. '}')
end

local function finish(tag)
   local f = io.open(os.getenv("BENCH_DONE_DIR") .. "/" .. tag .. id, "w")
   if f then
      f:close()
   end
   wrk.thread:stop()
end

function on_response(status)
   if status == 201 then
      created = created + 1
   end
   if not quota then
      return
   end
   if status ~= 201 and status ~= 200 then
      finish("fail-")
   elseif created >= quota then
      finish("")
   end
end
