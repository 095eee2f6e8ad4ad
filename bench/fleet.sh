# bench/fleet.sh — the fleet phase of bench/run (issue 10): every
# operation measured at 100 hosts, then again after the fleet has grown to
# FLEET hosts with FLEET revoked certificates in its history, side by side.
# Sourced by bench/run (it uses bench/run's helpers and R[]); runs with
# --full (FLEET=100000) or --fleet N.
#
# It runs last, on a database and CA of its own (a fresh `swarmctl init`),
# so that the small column really is a 100-host fleet with no history:
#   - the service instance (default algorithms: rsa-2048 worker keys,
#     rsa-4096 CA) on the usual socket, behind the shipped server block;
#   - an ecdsa-p256 instance on the same CA and database behind the
#     seeding mirror, only while it is used: ECDSA enrollment, and growing
#     the fleet (real enrollments through the API: row, certificate,
#     bundle).
# The revoked history is inserted as the owner role (see fleet_revoke):
# 100,000 enrollments plus decommissions through the API would take
# longer than the rest of the benchmark together.

# shellcheck shell=bash
# shellcheck disable=SC2034  # FAILED, OPERATOR_*: bench/run's, used there

declare -A F		# F[col.key]: hosts, revoked, mem, crl (col s or b)
FLEET_NOTES=()
FLEET_DB=fleet

fleet_fail()
{
	FAILED=1
	FAILURES+=("fleet: $*")
	say "fleet: FAILED: $*"
}

# fleet_grow TARGET — enroll through the ECDSA instance until the fleet
# has TARGET hosts, named grow<FLEET_GROW>-*.
FLEET_GROW=0
# Hosts enrolled only to be decommissioned in each column's DELETE row.
FLEET_DEC_EXTRA=${FLEET_DEC_EXTRA:-4000}
fleet_grow()
{
	local target=$1 need t0
	need=$((target - $(host_count)))
	[ "$need" -gt 0 ] || return 0
	fleet_ec_start || return 1
	FLEET_GROW=$((FLEET_GROW + 1))
	say "fleet: enrolling $need hosts (to $target) through the API"
	t0=$(date +%s)
	BENCH_QUOTA=$need BENCH_PREFIX=grow$FLEET_GROW \
	    wrk_quota "fl_grow$FLEET_GROW" enroll.lua "$SBASE/swarm/enroll" \
	    $((need / 20 + 120)) -c8
	FLEET_NOTES+=("grew the fleet by $need real enrollments (ecdsa-p256, wrk -t2 -c8) in $(($(date +%s) - t0)) s")
	fleet_ec_stop
	[ "$(host_count)" -eq "$target" ] ||
	    fleet_fail "$(host_count) hosts instead of $target"
}

# fleet_ec_start / fleet_ec_stop — the ecdsa-p256 instance on the
# seeding socket (behind SBASE), same CA and database.
FLEET_EC_PID=
fleet_ec_start()
{
	[ -z "$FLEET_EC_PID" ] || return 0
	swarmctl_spawn "$SEED_SOCK" "$T/swarmctl-fleet-ec.log" --workers "$WORKERS" \
	    --ca-dir "$T/ca-fleet" --db "dbname=$FLEET_DB" --key-type ecdsa-p256
	FLEET_EC_PID=$SPAWNED_PID
	swarmctl_wait_ready "$FLEET_EC_PID" "$SEED_SOCK" &&
	    wait_for 30 health_ok "$SBASE" ||
	    { fleet_fail "the ecdsa-p256 instance"; return 1; }
}
fleet_ec_stop()
{
	[ -n "$FLEET_EC_PID" ] || return 0
	stop_pid "$FLEET_EC_PID" TERM 60
	_untrack "$FLEET_EC_PID"
	FLEET_EC_PID=
}

# crl_entries — entries of the worker CA's CRL as last published by the
# service instance (its log).
crl_entries()
{
	sed -n "s/.*published the worker CA's CRL ([^)]*): number [0-9]*, \([0-9]*\) entries.*/\1/p" \
	    "$T/swarmctl.log" | tail -n 1
}

# fleet_revoke N — N revoked worker certificates in the history, inserted
# as the owner role: each with its own serial (16 octets, positive) and
# fingerprint, a host uuid no live host has, not_after a year ahead (so
# every one stays on the CRL), revoked within the last 30 days.  For the
# operations measured they are what decommissioned hosts leave behind:
# rows in certificates (the host and its bundle are gone).  The service
# finds them by its periodic convergence (an INSERT fires no notification).
fleet_revoke()
{
	local n=$1 t0 want
	say "fleet: $n revoked certificates into the history"
	want=$(( $(sql "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL AND ca = 'worker'") + n ))
	PGUSER=$SWARMCTL_DB_OWNER psql -X -q -v ON_ERROR_STOP=1 -c "
	    INSERT INTO certificates (serial, fingerprint, subject, kind, ca,
		host_uuid, not_after, issued_at, revoked_at, reason)
	    SELECT '4' || substr(md5('fleet-serial-' || i), 1, 31),
		encode(sha256(convert_to('fleet-cert-' || i, 'UTF8')), 'hex'),
		'CN=fleet-revoked-' || i, 'worker', 'worker', gen_random_uuid(),
		now() + interval '365 days', now() - interval '60 days',
		now() - (i % 30) * interval '1 day', 'cessationOfOperation'
	    FROM generate_series(1, $n) AS i" >"$T/fleet-revoke.out" 2>&1 ||
	    { fleet_fail "inserting revoked certificates: $(cat "$T/fleet-revoke.out")"; return 1; }
	t0=$(date +%s)
	wait_for 120 fleet_crl_has "$want" ||
	    { fleet_fail "the CRL never listed $want entries (last: $(crl_entries))"; return 1; }
	FLEET_NOTES+=("$n revoked certificates inserted as the owner role; the service's CRL listed all $want within $(($(date +%s) - t0)) s (periodic convergence)")
}
fleet_crl_has()
{
	[ "$(crl_entries)" -ge "$1" ] 2>/dev/null
}

# mtime_ns FILE
mtime_ns()
{
	stat -c %.9Y "$1" 2>/dev/null | tr -d .
}

# crl_quiet FILE — wait until FILE has not changed for 3 s (publications
# still pending from the decommissions measured before); at most 60 s.
crl_quiet()
{
	local file=$1 last i
	last=$(mtime_ns "$file")
	for i in $(seq 1 200); do
		sleep 0.3
		if [ "$(mtime_ns "$file")" != "$last" ]; then
			last=$(mtime_ns "$file")
			i=0
		elif [ $((i % 10)) = 0 ]; then
			return 0
		fi
	done
	return 1
}

# fleet_crl COL — the CRL rebuild as a decommission sees it: enroll a
# host of its own (the fleet stays as it is), DELETE it, then how long
# until the service has replaced crl.pem (built, signed, written); the
# median of 3.
fleet_crl()
{
	local col=$1 file=$T/ca-fleet/crl.pem uuid m0 t0 t1 k ms=()
	for k in 1 2 3; do
		enroll "{\"name\":\"fl$col-crl-$k\",\"address\":\"10.255.0.$k\"}"
		[ "$STATUS" = 201 ] || { fleet_fail "enroll for the CRL: $STATUS $BODY"; return 1; }
		uuid=$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'fl$col-crl-$k'")
		crl_quiet "$file" || { fleet_fail "crl.pem never settled"; return 1; }
		m0=$(mtime_ns "$file")
		t0=$(date +%s%N)
		api DELETE "/swarm/hosts/$uuid"
		[ "$STATUS" = 204 ] || { fleet_fail "DELETE $uuid: $STATUS $BODY"; return 1; }
		while [ "$(mtime_ns "$file")" = "$m0" ]; do
			[ $(($(date +%s%N) - t0)) -lt 30000000000 ] ||
			    { fleet_fail "crl.pem not replaced 30 s after a decommission"; return 1; }
			sleep 0.005
		done
		t1=$(date +%s%N)
		ms+=("$(calc "%.0f" "($t1 - $t0) / 1000000")")
	done
	F[$col.crl_ms]=$(printf '%s\n' "${ms[@]}" | sort -n | sed -n 2p)
	F[$col.crl_entries]=$(crl_entries)
	say "  CRL replaced after a decommission: ${ms[*]} ms (${F[$col.crl_entries]} entries)"
}

# fleet_requests COL N — GET /swarm/hosts/{uuid} (random over the fleet)
# in 1 s bursts until the service has answered N more requests; its VmRSS
# in KiB, on passing N, into F[COL.rss_N].
fleet_requests()
{
	local col=$1 want=$2 start
	start=$(served)
	for _ in $(seq 1 600); do
		if [ $(($(served) - start)) -ge "$want" ]; then
			F[$col.rss_$want]=$(rss_kib "$SWARMCTL_PID")
			return 0
		fi
		wrk_run "fl_${col}_mem" get_uuid.lua "$BASE/swarm/hosts/x" -t2 -c32 -d1s
		[ "${R[fl_${col}_mem.ok]}" = 1 ] || break
	done
	fleet_fail "fewer than $want more requests answered"
}

# fleet_measure COL — every operation at the fleet's current size.
fleet_measure()
{
	local col=$1 w="-t2 -c32 -d${DUR}s" n t0
	n=$(host_count)
	F[$col.hosts]=$n
	# The steady state of a fleet that grew over months, not the
	# minute after a bulk load: autovacuum's work done (hint bits set,
	# visibility map, statistics) and no checkpoint pending, so neither
	# runs beside the measurements.  Both columns alike.
	t0=$(date +%s)
	sql 'VACUUM (ANALYZE)' >/dev/null && sql 'CHECKPOINT' >/dev/null ||
	    fleet_fail "VACUUM (ANALYZE) and CHECKPOINT at $n hosts"
	FLEET_NOTES+=("at $n hosts: VACUUM (ANALYZE) and CHECKPOINT before measuring, $(($(date +%s) - t0)) s")
	# The same for the file system: the fleet's growth leaves inodes,
	# bitmaps and directory blocks for the kernel to write back, which
	# it would do while the first rows run.  How much there was, printed.
	dirty=$(awk '/^(Dirty|Writeback):/ { s += $2 } END { print s + 0 }' /proc/meminfo)
	t0=$(date +%s%N)
	sync
	FLEET_NOTES+=("at $n hosts: ${dirty} KiB of file data not yet written back (Dirty + Writeback), written by sync in $(calc "%.1f" "($(date +%s%N) - $t0) / 1000000000") s")
	F[$col.revoked]=$(sql "SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL")
	say "fleet: measuring at $n hosts, ${F[$col.revoked]} revoked certificates"
	sql 'SELECT uuid FROM swarm_hosts' >"$T/fleet-uuids"
	# shellcheck disable=SC2086
	BENCH_UUIDS=$T/fleet-uuids wrk_run "fl_${col}_get" get_uuid.lua \
	    "$BASE/swarm/hosts/x" $w
	# shellcheck disable=SC2086
	BENCH_UUIDS=$T/uuids-hot wrk_run "fl_${col}_hot" get_uuid.lua \
	    "$BASE/swarm/hosts/x" $w
	# shellcheck disable=SC2086
	wrk_run "fl_${col}_page" get.lua "$BASE/swarm/hosts?limit=500" $w
	pg_time "fl_${col}_db" "$T/list.sql" 1 -D prepared=0
	F[$col.rss_before_list]=$(rss_kib "$SWARMCTL_PID")
	wrk_run "fl_${col}_list" get.lua "$BASE/swarm/hosts" -t1 -c1 \
	    -d"${DUR}s" --timeout 60s
	F[$col.rss_after_list]=$(rss_kib "$SWARMCTL_PID")

	# Heartbeats (issue 11): one worker's, as in bench/run's row; the
	# UPDATE finds its row by uuid whatever the fleet's size.
	BENCH_AS_CRT=$T/fleet-hb/worker.crt BENCH_AS_KEY=$T/fleet-hb/worker.key \
	    wrk_run "fl_${col}_hb" heartbeat.lua "$BASE/swarm/heartbeat" \
	    -t1 -c4 -d"${DUR}s"

	BENCH_PREFIX=fl$col-rsa wrk_run "fl_${col}_rsa" enroll.lua \
	    "$BASE/swarm/enroll" -t2 -c4 -d"${FLEET_ENROLL_DUR}s" --timeout 30s
	fleet_ec_start || return 1
	BENCH_PREFIX=fl$col-ec wrk_run "fl_${col}_ec" enroll.lua \
	    "$SBASE/swarm/enroll" -t2 -c4 -d"${FLEET_ENROLL_DUR}s" --timeout 30s
	# One CRL publisher from here on, as with one instance: the ECDSA
	# one would rebuild the CRL on each revocation too.
	fleet_ec_stop
	# Decommission the hosts just enrolled and FLEET_DEC_EXTRA more,
	# enrolled for it: the row then lasts several seconds, long enough
	# to average over the CRL publications its revocations ask for (a
	# fifth of a second of work each at 100,000 entries, at most one
	# per max(0.5 s, its length)) instead of catching one or two in a
	# one-second row.  The fleet is back to its size afterwards.
	fleet_grow $(($(host_count) + FLEET_DEC_EXTRA)) || return 1
	sql "SELECT uuid FROM swarm_hosts WHERE name LIKE 'fl$col-%'
	    OR name LIKE 'grow$FLEET_GROW-%'" >"$T/fleet-dec"
	F[$col.dec_n]=$(wc -l <"$T/fleet-dec")
	fleet_delete "fl_${col}_dec" "$T/fleet-dec"
	fleet_crl "$col"

	BENCH_UUIDS=$T/fleet-uuids fleet_requests "$col" 10000
	BENCH_UUIDS=$T/fleet-uuids fleet_requests "$col" 100000
	F[$col.mem]=$(mem_of "$SWARMCTL_PID")

	# A database read for every GET (--host-cache 0): the lookup's own
	# cost, apart from how often the cache can answer (which a larger
	# fleet read at random must lower).
	fleet_serve --host-cache 0 || return 1
	# shellcheck disable=SC2086
	BENCH_UUIDS=$T/fleet-uuids wrk_run "fl_${col}_nocache" get_uuid.lua \
	    "$BASE/swarm/hosts/x" $w
	fleet_serve
}

# fleet_serve [ARG...] — (re)start the service instance on the fleet's
# database and CA, with ARGs; through nginx too once it fronts the fleet.
FLEET_NGINX=0
fleet_serve()
{
	swarmctl_stop
	swarmctl_start --workers "$WORKERS" --ca-dir "$T/ca-fleet" \
	    --db "dbname=$FLEET_DB" "$@" ||
	    { fleet_fail "swarmctl serve $*"; return 1; }
	[ "$FLEET_NGINX" = 0 ] || wait_for 30 health_ok "$BASE" ||
	    { fleet_fail "swarmctl serve $* through nginx"; return 1; }
}

# fleet_delete NAME FILE — DELETE /swarm/hosts/{uuid} for each uuid of
# FILE, four at a time over kept-alive connections (curl --parallel), as
# the operator; fills R[NAME.*] as wrk_parse does, from the DELETEs alone
# (wrk's quota mode would mix in the GET /health it sends while it waits
# for its last answers, which dominate when there are few to delete).
fleet_delete()
{
	local name=$1 file=$2 cfg=$T/$1.curlrc out=$T/$1.out t0 t1 n u lsn0
	: >"$cfg"
	while read -r u; do
		[ -n "$u" ] || continue
		[ -s "$cfg" ] && echo next >>"$cfg"
		cat >>"$cfg" <<-EOF
		url = "$BASE/swarm/hosts/$u"
		request = "DELETE"
		cacert = "$CACERT"
		cert = "$OPERATOR_CRT"
		key = "$OPERATOR_KEY"
		http1.1
		max-time = 60
		output = "/dev/null"
		write-out = "%{http_code} %{time_total}\\n"
		EOF
	done <"$file"
	lsn0=$(sql "SELECT pg_current_wal_lsn()")
	t0=$(date +%s.%N)
	curl -sS --parallel --parallel-max 4 -K "$cfg" >"$out" 2>"$T/$name.err"
	t1=$(date +%s.%N)
	n=$(wc -l <"$out")
	# WAL the database wrote per decommission (the whole cluster's; the
	# other databases are idle meanwhile).
	R[$name.wal_kib]=$(sql "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(),
	    '$lsn0') / 1024.0 / greatest($n, 1), 1)")
	R[$name.ok]=1
	R[$name.rps]=$(calc "%.2f" "$n / ($t1 - $t0)")
	R[$name.errors]=$(awk '$1 != 204' "$out" | wc -l)
	read -r R["$name.p50_ms"] R["$name.p99_ms"] < <(awk '{ print $2 * 1000 }' "$out" |
	    sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- -"; exit }
		p = int(NR * 0.5 + 0.999); q = int(NR * 0.99 + 0.999)
		printf "%.2f %.2f\n", v[p], v[q] }')
	if [ "$n" -eq 0 ] || [ "${R[$name.errors]}" -ne 0 ]; then
		FAILED=1
		FAILURES+=("$name: ${R[$name.errors]} of $n DELETEs not 204: $(awk '$1 != 204' "$out" | head -n 3 | tr '\n' ' ')$(head -c 200 "$T/$name.err")")
	fi
}

# fleet_phase N — the whole phase: new database and CA, 100 hosts, then N.
fleet_phase()
{
	local big=$1 ca=$T/ca-fleet small
	small=$((big < 100 ? big : 100))
	say "fleet: new database and CA; every operation at $small, then $big hosts"
	swarmctl_stop
	pg_create_db "$FLEET_DB"
	swarmctl_migrate --db "dbname=$FLEET_DB" ||
	    { fleet_fail "swarmctl migrate: $(cat "$T/migrate.out")"; return 1; }
	swarmctl_init "$ca" --db "dbname=$FLEET_DB" ||
	    { fleet_fail "swarmctl init: $(cat "$T/init.out")"; return 1; }
	# sql, host_count and pgbench: the fleet's database from here on.
	export PGDATABASE=$FLEET_DB
	fleet_serve || return 1
	wait_for 30 test -s "$ca/crl.pem" || { fleet_fail "no crl.pem"; return 1; }
	mkdir -p "$T/operators-fleet"
	"$SWARMCTL_BIN" operator issue bench-operator-fleet --out "$T/operators-fleet" \
	    --ca-dir "$ca" --db "dbname=$FLEET_DB" >"$T/operator-fleet.out" 2>&1 ||
	    { fleet_fail "operator issue: $(cat "$T/operator-fleet.out")"; return 1; }
	OPERATOR_CRT=$T/operators-fleet/bench-operator-fleet.crt
	OPERATOR_KEY=$T/operators-fleet/bench-operator-fleet.key
	bench_nginx "$ca" || { fleet_fail "nginx"; return 1; }
	wait_for 30 health_ok "$BASE" ||
	    { fleet_fail "the fleet's instance through nginx"; return 1; }
	FLEET_NGINX=1

	# A worker with its own key, for the heartbeat rows.
	mkdir -p "$T/fleet-hb"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$T/fleet-hb/worker.key" 2>/dev/null &&
	    openssl req -new -key "$T/fleet-hb/worker.key" -subj /CN=hb \
	    -out "$T/fleet-hb/worker.csr" 2>/dev/null ||
	    { fleet_fail "heartbeat worker CSR"; return 1; }
	api POST /swarm/enroll -H 'Content-Type: application/json' --data-binary \
	    "$(jq -cn --arg c "$(cat "$T/fleet-hb/worker.csr")" '{name: "fleet-heartbeat", address: "192.0.2.251", csr_pem: $c}')"
	[ "$STATUS" = 201 ] || { fleet_fail "heartbeat worker: $STATUS $BODY"; return 1; }
	jq -r .worker_cert_pem <<<"$BODY" >"$T/fleet-hb/worker.crt"

	fleet_grow "$small"
	# The same 100 hosts asked for at both sizes (the host cache's
	# best case); the whole fleet is the other row.
	sql 'SELECT uuid FROM swarm_hosts' >"$T/uuids-hot"
	fleet_measure s
	fleet_grow "$big"
	fleet_revoke "$big"
	fleet_measure b

	fleet_ec_stop
}

# ------------------------------------------------------------ its table

# fcell NAME — "req/s p50 p99" of a wrk or pgbench result
fcell()
{
	printf '%9s %8s %8s' "$(rps "$1")" "$(ms "$1" p50_ms)" "$(ms "$1" p99_ms)"
}

# frow LABEL NAME RATIO GOAL — NAME's results at both sizes
frow()
{
	printf '%-44s %s %6s  %s %6s  %6s  %s\n' "$1" "$(fcell "fl_s_$2")" \
	    "$(errs "fl_s_$2")" "$(fcell "fl_b_$2")" "$(errs "fl_b_$2")" "$3" "$4"
}

# cost_ratio NAME — cost at the large size / cost at the small one, by
# throughput (req/s small / req/s large)
cost_ratio()
{
	ratio "${R[fl_s_$1.rps]:-}" "${R[fl_b_$1.rps]:-}"
}

# fleet_report — the two-size table (printed into the result file).
fleet_report()
{
	local s=${F[s.hosts]:-?} b=${F[b.hosts]:-?} r k
	echo "fleet (issue 10): the same operations at $s and $b hosts (a database and CA of their own; the"
	echo "  $b-host column with ${F[b.revoked]:-?} revoked certificates in the history, ${F[s.revoked]:-?} in the other); cost ratio = req/s at $s / req/s at $b"
	printf '%-44s %-35s  %-35s  %6s  %s\n' "operation" "at $s hosts: req/s  p50 ms  p99 ms  errors" \
	    "at $b hosts: req/s  p50 ms  p99 ms  errors" "ratio" "goal (issue 10)"
	for k in get nocache hot rsa ec dec; do
		r=$(cost_ratio "$k")
		case $k in
		get) frow "GET /swarm/hosts/{uuid}, any host (-c32)" get "$r" \
		    "$(verdict "$r" '<=' 1.2 '<=1.2x')" ;;
		nocache) frow "  the same, --host-cache 0 (-c32)" nocache "$r" \
		    "$(verdict "$r" '<=' 1.2 '<=1.2x') (a database read each)" ;;
		hot) frow "GET /swarm/hosts/{uuid}, 100 hosts (-c32)" hot "$r" \
		    "$(verdict "$r" '<=' 1.2 '<=1.2x')" ;;
		rsa) frow "POST /swarm/enroll rsa-2048 (-c4)" rsa "$r" \
		    "$(verdict "$r" '<=' 1.2 '<=1.2x')" ;;
		ec) frow "POST /swarm/enroll ecdsa-p256 (-c4)" ec "$r" \
		    "$(verdict "$r" '<=' 1.2 '<=1.2x')" ;;
		dec) frow "DELETE /swarm/hosts/{uuid} (-c4)" dec "$r" \
		    "$(verdict "$r" '<=' 1.2 '<=1.2x')" ;;
		esac
	done
	frow "GET /swarm/hosts?limit=500 (-c32)" page "$(cost_ratio page)" ""
	frow "POST /swarm/heartbeat, one worker (-t1 -c4)" hb "$(cost_ratio hb)" "(issue 11)"
	frow "DB: the full list's SELECT (pgbench -c1)" db "$(cost_ratio db)" "(PostgreSQL's own time)"
	frow "GET /swarm/hosts, whole list (-c1)" list "$(cost_ratio list)" ""
	r=$(ratio "${R[fl_b_list.p50_ms]:-}" "${R[fl_b_db.p50_ms]:-}")
	printf '%-44s %-35s  %-35s  %6s  %s\n' "  whole list p50 / its SELECT's p50" \
	    "  $(ratio "${R[fl_s_list.p50_ms]:-}" "${R[fl_s_db.p50_ms]:-}")" "  $r" "" \
	    "$(verdict "$r" '<=' 1.5 "<=1.5x at $b")"
	r=$(ratio "${F[b.crl_ms]:-}" "${F[s.crl_ms]:-}")
	printf '%-44s %-35s  %-35s  %6s  %s\n' "CRL: decommission to crl.pem replaced, ms" \
	    "  ${F[s.crl_ms]:-?} (${F[s.crl_entries]:-?} entries)" \
	    "  ${F[b.crl_ms]:-?} (${F[b.crl_entries]:-?} entries)" "$r" \
	    "(off the request path; median of 3)"
	echo "  memory of the service (VmRSS, KiB): before/after the whole list, after 10,000 more GETs, after 100,000 more:"
	for k in s b; do
		printf '    at %7s hosts: %s / %s, %s, %s (%+d KiB; issue 10: within 1 MiB, printed not asserted)\n' \
		    "${F[$k.hosts]:-?}" "${F[$k.rss_before_list]:-?}" "${F[$k.rss_after_list]:-?}" \
		    "${F[$k.rss_10000]:-?}" "${F[$k.rss_100000]:-?}" \
		    $(( ${F[$k.rss_100000]:-0} - ${F[$k.rss_10000]:-0} ))
	done
	echo "  decommissioned: the hosts each column's enrollment rows had just enrolled and $FLEET_DEC_EXTRA more enrolled for it (${F[s.dec_n]:-?} and ${F[b.dec_n]:-?});"
	echo "    the responder no longer rebuilds the CRL in the request, but the publisher's rebuilds (coalesced, one at a"
	echo "    time) share the 2 cores with the requests: at the large size each lists every unexpired revocation"
	echo "    WAL written per decommission: ${R[fl_s_dec.wal_kib]:-?} KiB at ${F[s.hosts]:-?} hosts, ${R[fl_b_dec.wal_kib]:-?} KiB at ${F[b.hosts]:-?}"
	echo "    (the whole page goes to the WAL at its first change after the CHECKPOINT before each column: equal"
	echo "    figures mean the larger fleet made the decommissions change no more pages)"
	echo "  GET, any host: random over the whole fleet, so at the large size nearly every request misses the host"
	echo "    cache (256 hosts a worker) and reads PostgreSQL; the --host-cache 0 row is that read alone at both"
	echo "    sizes (what the fleet's size may change); the 100-host row is the same 100 hosts at both sizes"
	printf '  %s\n' "${FLEET_NOTES[@]}"
}
