-- GET the URL given to wrk (/health, /swarm/hosts, the ceilings).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
