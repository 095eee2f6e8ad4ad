-- POST /swarm/heartbeat as a worker (bench/run presents a worker
-- certificate instead of the operator's: BENCH_CLIENT_CERT/KEY).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"agent_version":"bench","status":"ok"}'
