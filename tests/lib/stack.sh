# shellcheck shell=bash
#
# The integration-test stack: a throwaway PostgreSQL cluster, the real
# `swarmctl serve` and a real nginx using the shipped nginx/swarmctl.conf,
# all under one temporary directory.  Sourced by every test in
# tests/integration/ (after `set -u`).  Needs root: PostgreSQL runs as the
# `postgres` user, nginx workers as root.
#
# Everything it starts is recorded by PID and stopped on any exit of the
# test (success, failure, `set -u` abort, signal); nothing is ever killed
# by name.  SWARMCTL_TEST_KEEP=1 keeps the temporary directory.
#
# Environment (set by `make check`, defaulted for direct runs):
#   TOP_SRCDIR   source tree (nginx/swarmctl.conf, sql/)
#   TOP_BUILDDIR build tree
#   SWARMCTL_BIN the binary under test
#   SWARMCTL_TEST_TIMEOUT  seconds before a hung test is terminated (900)
#
# After stack_up:  T (temp dir), BASE (https://127.0.0.1:PORT), CACERT,
# SWARMCTL_PID, NGINX_PID, PGHOST/PGPORT/PGUSER/PGDATABASE (PGUSER is
# the service role: see "The database roles" below).
# After `api METHOD PATH [curl args]`: STATUS, BODY, $T/body, $T/headers.

_stack_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TOP_SRCDIR:=$(cd "$_stack_lib_dir/../.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${SWARMCTL_BIN:=$TOP_BUILDDIR/swarmctl}"
: "${SWARMCTL_TEST_TIMEOUT:=900}"
export TOP_SRCDIR TOP_BUILDDIR SWARMCTL_BIN

# shellcheck source=tap.sh
. "$_stack_lib_dir/tap.sh"

# Defined up front so that the cleanup can always run, even when the set
# up below fails half-way.
_STACK_PIDS=()		# "kind:pid" of every process we started
_STACK_PGDATA=()	# clusters to stop with pg_ctl
_STACK_WATCHDOG=
T=

# ------------------------------------------------------------ processes

# _proc_state PID — one-letter state from /proc (Z for a zombie), empty
# when the process is gone.  `kill -0` alone cannot tell a zombie (a
# child of ours that exited but was not waited for) from a live process.
_proc_state()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	printf '%s' "${stat%% *}"
}

# _stack_starttime PID — the start time of PID (field 22 of its stat):
# with the PID it names one process, even after PID numbers wrap.
_stack_starttime()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	# Field 22 of /proc/PID/stat; field 3 (the state) begins $stat.
	# shellcheck disable=SC2086
	set -- $stat
	printf '%s' "${20}"
}
# pid_alive PID — true when PID runs (and is not a zombie).
pid_alive()
{
	local st
	st=$(_proc_state "$1")
	[ -n "$st" ] && [ "$st" != Z ]
}

# _descendants PID — "PID:STARTTIME" of every descendant of PID.
_descendants()
{
	local kids kid
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null) || true
	for kid in $kids; do
		printf '%s:%s\n' "$kid" "$(_stack_starttime "$kid")"
		_descendants "$kid"
	done
}

# wait_exit PID TIMEOUT — wait up to TIMEOUT seconds for PID to end.
# Sets EXIT_STATUS to its exit status when PID is our child (127 when
# unknown), returns 1 on timeout.
wait_exit()
{
	local pid=$1 limit=$2 i=0
	EXIT_STATUS=127
	while pid_alive "$pid"; do
		if [ "$i" -ge $((limit * 10)) ]; then
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	# Reap it if it is our child; `wait` fails for anyone else's.
	if wait "$pid" 2>/dev/null; then
		EXIT_STATUS=0
	else
		EXIT_STATUS=$?
	fi
	return 0
}

# stop_pid PID SIGNAL TIMEOUT — signal PID, wait, then SIGKILL it and
# every descendant that is still there.  Sets EXIT_STATUS like wait_exit.
stop_pid()
{
	local pid=$1 sig=$2 limit=$3 kids kid
	kids=$(_descendants "$pid")
	kill "-$sig" "$pid" 2>/dev/null || true
	if ! wait_exit "$pid" "$limit"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait_exit "$pid" 5 || true
	fi
	# Orphaned descendants (e.g. nginx workers of a killed master); the
	# start time guards against a PID that was reused meanwhile.
	for kid in $kids; do
		if pid_alive "${kid%%:*}" &&
		    [ "$(_stack_starttime "${kid%%:*}")" = "${kid#*:}" ]; then
			kill -KILL "${kid%%:*}" 2>/dev/null || true
		fi
	done
}

_track()
{
	_STACK_PIDS+=("$1:$2")
}

_untrack()
{
	local i
	for i in "${!_STACK_PIDS[@]}"; do
		if [ "${_STACK_PIDS[$i]#*:}" = "$1" ]; then
			unset '_STACK_PIDS[i]'
		fi
	done
}

# ------------------------------------------------------------ cleanup

_stack_dump_logs()
{
	local f
	for f in "$T/swarmctl.log" "$T"/swarmctl-*.log "$T"/nginx-*/error.log \
	    "$T"/nginx-*/stderr.log "$T/pg/server.log"; do
		if [ -s "$f" ]; then
			diag "--- last lines of ${f#"$T"/}:"
			diag "$(tail -n 40 "$f")"
		fi
	done
}

_stack_cleanup()
{
	local rc=$? entry kind pid data
	trap - EXIT INT TERM HUP
	if [ -n "$_STACK_WATCHDOG" ]; then
		stop_pid "$_STACK_WATCHDOG" TERM 2
	fi
	if [ -n "$T" ] && [ -d "$T" ] && { [ "$rc" -ne 0 ] || [ "$TAP_FAILED" -ne 0 ]; }; then
		_stack_dump_logs
	fi
	# nginx first (it talks to swarmctl), then swarmctl, then the rest.
	for kind in nginx swarmctl other; do
		for entry in "${_STACK_PIDS[@]}"; do
			pid=${entry#*:}
			case "${entry%%:*}" in
			nginx) [ "$kind" = nginx ] || continue ;;
			swarmctl) [ "$kind" = swarmctl ] || continue ;;
			*) [ "$kind" = other ] || continue ;;
			esac
			if pid_alive "$pid"; then
				stop_pid "$pid" TERM 15
			else
				wait "$pid" 2>/dev/null || true
			fi
		done
	done
	for data in "${_STACK_PGDATA[@]}"; do
		_pg_stop_dir "$data" immediate
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${SWARMCTL_TEST_KEEP:-0}" = 1 ]; then
			diag "kept test directory $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# A signal (the watchdog below, or an interrupted `make check`) is a
# failure that says so; the EXIT trap then cleans up.
_stack_signalled()
{
	not_ok "test was not terminated by SIG$1 (SWARMCTL_TEST_TIMEOUT=${SWARMCTL_TEST_TIMEOUT}s)"
	exit "$2"
}
trap _stack_cleanup EXIT
trap '_stack_signalled HUP 129' HUP
trap '_stack_signalled INT 130' INT
trap '_stack_signalled TERM 143' TERM

# ------------------------------------------------------------ basics

# require_cmd CMD... — a missing tool fails the test; it never skips.
require_cmd()
{
	local c missing=0
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			not_ok "required command '$c' is available"
			missing=1
		fi
	done
	if [ "$missing" -ne 0 ]; then
		done_testing
	fi
}

# free_port — print a TCP port on 127.0.0.1 that nothing uses and that
# this test has not handed out before (remembered in a file: callers use
# $(free_port), a subshell).
free_port()
{
	local port i
	for i in $(seq 1 200); do
		port=$((20000 + RANDOM % 40000))
		if grep -qx "$port" "$T/.ports" 2>/dev/null; then
			continue
		fi
		if [ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]; then
			printf '%s\n' "$port" >>"$T/.ports"
			printf '%s\n' "$port"
			return 0
		fi
	done
	return 1
}

# port_listening PORT — something listens on 127.0.0.1:PORT (TCP).
port_listening()
{
	[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# wait_for TIMEOUT CMD... — run CMD every 0.2 s until it succeeds.  CMD
# is re-run each time: pass a function, not a "$(...)" (expanded once).
wait_for()
{
	local limit=$1 i=0
	shift
	until "$@"; do
		if [ "$i" -ge $((limit * 5)) ]; then
			return 1
		fi
		sleep 0.2
		i=$((i + 1))
	done
	return 0
}

# sha256_der_pem FILE — lowercase hex SHA-256 of a PEM certificate's DER.
cert_fingerprint()
{
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# tree_snapshot DIR — every path under DIR with type and mode, sorted:
# two snapshots differ when anything was created, removed or re-moded.
tree_snapshot()
{
	find "$1" -printf '%y %m %P\n' 2>/dev/null | LC_ALL=C sort
}

# ------------------------------------------------------------ temp dir

if [ "$(id -u)" -ne 0 ]; then
	not_ok "integration tests run as root (PostgreSQL runs as user postgres)"
	done_testing
fi
for _c in curl jq openssl nginx runuser ss ps sha256sum find; do
	require_cmd "$_c"
done
unset _c

if [ ! -x "$SWARMCTL_BIN" ]; then
	not_ok "swarmctl binary is executable at $SWARMCTL_BIN"
	done_testing
fi

T=$(mktemp -d /var/tmp/swarmctl-test.XXXXXX) || bail "mktemp failed"
# PostgreSQL runs as `postgres` and must be able to reach $T/pg.
chmod 755 "$T"
export T

# A hung test would stall `make check` forever: end it (cleanup included)
# after SWARMCTL_TEST_TIMEOUT seconds.  The watchdog checks the start time
# of $$ first, so a recycled PID is never signalled.
_stack_self_start=$(_stack_starttime $$)
{
	sleep "$SWARMCTL_TEST_TIMEOUT"
	if [ "$(_stack_starttime $$)" = "$_stack_self_start" ]; then
		echo "test timed out after ${SWARMCTL_TEST_TIMEOUT}s" >&2
		kill -TERM $$
	fi
} </dev/null >/dev/null &
_STACK_WATCHDOG=$!

# ------------------------------------------------------------ PostgreSQL

# The server binaries live outside PATH on Debian.
pg_bindir()
{
	local d
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n -r); do
		if [ -x "$d/initdb" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	return 1
}

_pg_ctl()
{
	(cd "$T" && runuser -u postgres -- "$PGBIN/pg_ctl" "$@")
}

_pg_stop_dir()
{
	local data=$1 mode=$2 pid
	[ -f "$data/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
	(cd "$T" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" stop -m "$mode" -w -t 30) >/dev/null 2>&1
	if [ -n "$pid" ] && pid_alive "$pid"; then
		stop_pid "$pid" QUIT 10
	fi
}

# The database roles, as in production (README "Database roles"): the
# owner runs `swarmctl migrate` and owns the tables; the service role runs
# `swarmctl serve` and the trust commands, holding only what migrate
# --service-role grants it.  pg_start exports PGUSER as the service role,
# so every swarmctl a test starts runs like production; `sql` (checks,
# set-ups) and swarmctl_migrate say who they are.
PG_SUPERUSER=postgres
SWARMCTL_DB_OWNER=swarmctl_owner
SWARMCTL_DB_SERVICE=swarmctl
export PG_SUPERUSER SWARMCTL_DB_OWNER SWARMCTL_DB_SERVICE

# sql QUERY — run QUERY in the test database as the superuser, print
# unaligned rows.
sql()
{
	PGUSER=$PG_SUPERUSER psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

# pg_create_db NAME — a database owned by the owner role (as swarmctl's
# own database would be), unless it exists.
pg_create_db()
{
	if [ -z "$(PGDATABASE=postgres sql "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]; then
		PGDATABASE=postgres sql "CREATE DATABASE $1 OWNER $SWARMCTL_DB_OWNER" >/dev/null
	fi
}

# _pg_create_role NAME — a login role with no attributes, unless it exists.
_pg_create_role()
{
	if [ -z "$(PGDATABASE=postgres sql "SELECT 1 FROM pg_roles WHERE rolname = '$1'")" ]; then
		PGDATABASE=postgres sql "CREATE ROLE $1 LOGIN" >/dev/null
	fi
}

# pg_start — create (first time) and start the cluster in $T/pg, with
# the two roles and the database; export the libpq variables that
# swarmctl and psql pick up.
pg_start()
{
	local data
	PGBIN=$(pg_bindir) || { not_ok "PostgreSQL server binaries found"; return 1; }
	data=$T/pg/data
	if [ ! -d "$data" ]; then
		mkdir -p "$T/pg"
		chown postgres:postgres "$T/pg"
		chmod 700 "$T/pg"
		if ! (cd "$T" && runuser -u postgres -- "$PGBIN/initdb" -D "$data" \
		    -A trust -U postgres --no-sync -E UTF8 --locale=C) \
		    >"$T/initdb.log" 2>&1; then
			not_ok "initdb" "$(cat "$T/initdb.log")"
			return 1
		fi
		# No TCP at all: the socket in $T/pg is the only way in.
		PGPORT=$(free_port)
		cat >>"$data/postgresql.conf" <<-EOF
		listen_addresses = ''
		port = $PGPORT
		unix_socket_directories = '$T/pg'
		max_connections = 60
		EOF
	fi
	PGPORT=$(sed -n "s/^port = //p" "$data/postgresql.conf" | tail -n 1)
	_STACK_PGDATA=("$data")
	if ! _pg_ctl -D "$data" -l "$T/pg/server.log" -w -t 60 start >/dev/null 2>&1; then
		not_ok "PostgreSQL starts" "$(tail -n 20 "$T/pg/server.log" 2>/dev/null)"
		return 1
	fi
	export PGHOST=$T/pg PGPORT PGUSER=$SWARMCTL_DB_SERVICE PGDATABASE=swarm
	_pg_create_role "$SWARMCTL_DB_OWNER" &&
	    _pg_create_role "$SWARMCTL_DB_SERVICE" &&
	    pg_create_db swarm || return 1
	return 0
}

pg_stop()
{
	_pg_stop_dir "$T/pg/data" fast
}

pg_restart()
{
	pg_stop && pg_start
}

# ------------------------------------------------------------ swarmctl

# swarmctl_migrate [migrate args...] — as the owner role, granting the
# service role its privileges.
swarmctl_migrate()
{
	PGUSER=$SWARMCTL_DB_OWNER "$SWARMCTL_BIN" migrate \
	    --service-role "$SWARMCTL_DB_SERVICE" "$@" >"$T/migrate.out" 2>&1
}

# swarmctl_init [CA_DIR] [init args...] — `swarmctl init`: create the
# CAs in CA_DIR (default $T/ca) and record them in the database, as the
# owner role (the service role may only read what init records).
swarmctl_init()
{
	local dir=${1:-$T/ca}
	shift || true
	PGUSER=$SWARMCTL_DB_OWNER "$SWARMCTL_BIN" init --ca-dir "$dir" "$@" \
	    >"$T/init.out" 2>&1
}

# swarmctl_spawn SOCKET LOG [serve args...] — start `swarmctl serve` in
# the background; sets SPAWNED_PID.  SIGINT is reset to its default:
# a non-interactive shell starts background jobs with SIGINT ignored, and
# we want to see what swarmctl itself does with it.
swarmctl_spawn()
{
	local sock=$1 log=$2
	shift 2
	rm -f "$sock"
	# SWARMCTL_WRAPPER runs the responder under a tool (valgrind.sh).
	# shellcheck disable=SC2086
	env --default-signal=INT ${SWARMCTL_WRAPPER:-} "$SWARMCTL_BIN" serve \
	    --listen "unix:$sock" --ca-dir "$T/ca" --workers 4 "$@" \
	    </dev/null >>"$log" 2>&1 &
	SPAWNED_PID=$!
	_track swarmctl "$SPAWNED_PID"
}

# swarmctl_wait_ready PID SOCKET — wait (up to 120 s: the first start
# creates an RSA-4096 CA) for SOCKET to appear; fails early if PID exits.
swarmctl_wait_ready()
{
	local pid=$1 sock=$2 i
	for i in $(seq 1 600); do
		if ! pid_alive "$pid"; then
			return 1
		fi
		if [ -S "$sock" ]; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# health_ok [BASE] — GET /health through nginx answers 200.
health_ok()
{
	local base=${1:-$BASE}
	[ "$(curl -sS --cacert "$CACERT" --max-time 10 -o /dev/null \
	    -w '%{http_code}' "$base/health" 2>/dev/null)" = 200 ]
}

# swarmctl_start [serve args...] — the stack's responder on $T/swarmctl.sock.
swarmctl_start()
{
	SOCK=$T/swarmctl.sock
	swarmctl_spawn "$SOCK" "$T/swarmctl.log" "$@"
	SWARMCTL_PID=$SPAWNED_PID
	if ! swarmctl_wait_ready "$SWARMCTL_PID" "$SOCK"; then
		not_ok "swarmctl serve starts" "$(tail -n 30 "$T/swarmctl.log")"
		return 1
	fi
	if [ -n "${NGINX_PID:-}" ] && pid_alive "$NGINX_PID"; then
		if ! wait_for 60 health_ok; then
			not_ok "swarmctl answers /health through nginx" "$(tail -n 30 "$T/swarmctl.log")"
			return 1
		fi
	fi
	return 0
}

# swarmctl_stop [SIGNAL] — stop the stack's responder, wait up to 60 s;
# sets EXIT_STATUS.
swarmctl_stop()
{
	local sig=${1:-TERM}
	[ -n "${SWARMCTL_PID:-}" ] || return 0
	stop_pid "$SWARMCTL_PID" "$sig" 60
	_untrack "$SWARMCTL_PID"
	SWARMCTL_PID=
}

# ------------------------------------------------------------ TLS

# tls_make_server_cert CA_DIR OUT_DIR — a server certificate for
# 127.0.0.1/localhost issued by the service's front-end CA, as the
# operator would do it: OUT_DIR/server.crt and OUT_DIR/server.key (0600).
tls_make_server_cert()
{
	local ca=$1 out=$2
	mkdir -p "$out"
	chmod 700 "$out"
	cat >"$out/ext.cnf" <<-'EOF'
	basicConstraints = critical, CA:FALSE
	keyUsage = critical, digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = IP:127.0.0.1, DNS:localhost
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	# A front CA key on a token (pkcs11.sh): only swarmctl can sign.
	if [ ! -e "$ca/front-ca.key" ] && [ -e "$ca/front-ca.key.pkcs11" ]; then
		"$SWARMCTL_BIN" server-cert --cn localhost --san 127.0.0.1 \
		    --san localhost --out "$out" --ca-dir "$ca" >"$out/server-cert.log" 2>&1 || {
			not_ok "server certificate issued by the service CA" "$(cat "$out/server-cert.log")"
			return 1
		}
		return 0
	fi
	(
		umask 077
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -nodes -keyout "$out/server.key" -subj "/CN=localhost" \
		    -out "$out/server.csr" &&
		openssl x509 -req -in "$out/server.csr" -CA "$ca/front-ca.crt" \
		    -CAkey "$ca/front-ca.key" -set_serial "0x$(openssl rand -hex 15)" \
		    -days 30 -sha256 -extfile "$out/ext.cnf" -out "$out/server.crt"
	) >"$out/openssl.log" 2>&1 || {
		not_ok "server certificate issued by the service CA" "$(cat "$out/openssl.log")"
		return 1
	}
	chmod 600 "$out/server.key"
}

# ------------------------------------------------------------ nginx

# nginx_write_conf DIR PORT SOCKET CERT KEY — the wrapper nginx.conf in
# DIR around a copy of the shipped nginx/swarmctl.conf in which only the
# listen port, certificate paths and socket path are substituted.
# nginx_write_conf DIR PORT SOCK CRT KEY [CA_DIR] — the shipped server
# block with only its site-specific values substituted.  The change rate
# limit is lifted (NGINX_CHANGE_RATE, default 6000000r/m, and
# NGINX_CHANGE_BURST, default 10000) so tests that
# enrol in bulk are not throttled; the rate-limit test sets it back.
nginx_write_conf()
{
	local dir=$1 port=$2 sock=$3 crt=$4 key=$5 ca=${6:-$T/ca} conf
	local rate=${NGINX_CHANGE_RATE:-6000000r/m}
	local burst=${NGINX_CHANGE_BURST:-10000}
	conf=$dir/swarmctl.conf
	mkdir -p "$dir/tmp"
	sed -e "s|127\.0\.0\.1:8443|127.0.0.1:$port|" \
	    -e "s|/etc/swarmctl/tls/server\.crt|$crt|" \
	    -e "s|/etc/swarmctl/tls/server\.key|$key|" \
	    -e "s|unix:/run/swarmctl/swarmctl\.sock|unix:$sock|" \
	    -e "s|/var/lib/swarmctl/ca/|$ca/|" \
	    -e "s|alias /usr/local/share/swarmctl/ui/;|alias $TOP_SRCDIR/ui/;|" \
	    -e "s|rate=20r/m;|rate=$rate;|" \
	    -e "s|burst=5 nodelay;|burst=$burst nodelay;|" \
	    "$TOP_SRCDIR/nginx/swarmctl.conf" >"$conf"
	# If the shipped file changed shape, say so instead of testing
	# something else.
	grep -q "listen 127.0.0.1:$port ssl;" "$conf" &&
	grep -q "ssl_certificate $crt;" "$conf" &&
	grep -q "ssl_certificate_key $key;" "$conf" &&
	grep -q "server unix:$sock;" "$conf" &&
	grep -q "ssl_client_certificate $ca/client-cas.pem;" "$conf" &&
	grep -q "ssl_crl $ca/client-crls.pem;" "$conf" &&
	grep -q "alias $TOP_SRCDIR/ui/;" "$conf" &&
	grep -q "rate=$rate;" "$conf" &&
	grep -q "burst=$burst nodelay;" "$conf" || {
		not_ok "nginx/swarmctl.conf has the substitutable defaults"
		return 1
	}
	cat >"$dir/nginx.conf" <<-EOF
	# Test wrapper: everything inside $dir.  Tests run as root.
	user root;
	worker_processes 2;
	pid $dir/nginx.pid;
	error_log $dir/error.log warn;
	events { worker_connections 512; }
	http {
	    access_log $dir/access.log;
	    client_body_temp_path $dir/tmp/body;
	    fastcgi_temp_path $dir/tmp/fastcgi;
	    proxy_temp_path $dir/tmp/proxy;
	    uwsgi_temp_path $dir/tmp/uwsgi;
	    scgi_temp_path $dir/tmp/scgi;
	    default_type application/octet-stream;
	    include $conf;
	}
	EOF
}

# nginx_spawn NAME SOCKET CERT KEY — an nginx in $T/nginx-NAME in front
# of SOCKET; sets SPAWNED_PID and SPAWNED_PORT.  Retries on a port race.
nginx_spawn()
{
	local name=$1 sock=$2 crt=$3 key=$4 ca=${5:-$T/ca} dir attempt port pid
	dir=$T/nginx-$name
	for attempt in 1 2 3; do
		port=$(free_port) || return 1
		nginx_write_conf "$dir" "$port" "$sock" "$crt" "$key" "$ca" || return 1
		if ! nginx -t -q -p "$dir/" -c "$dir/nginx.conf" >"$dir/nginx-t.log" 2>&1; then
			not_ok "nginx -t accepts the configuration" "$(cat "$dir/nginx-t.log")"
			return 1
		fi
		nginx -p "$dir/" -c "$dir/nginx.conf" -g 'daemon off;' \
		    </dev/null >>"$dir/stderr.log" 2>&1 &
		pid=$!
		_track nginx "$pid"
		if wait_for 20 _nginx_listening "$pid" "$port"; then
			SPAWNED_PID=$pid
			SPAWNED_PORT=$port
			return 0
		fi
		stop_pid "$pid" TERM 10
		_untrack "$pid"
		diag "nginx did not come up on port $port (attempt $attempt)"
	done
	not_ok "nginx starts" "$(cat "$dir/error.log" "$dir/stderr.log" 2>/dev/null | tail -n 20)"
	return 1
}

_nginx_listening()
{
	pid_alive "$1" && port_listening "$2"
}

# nginx_start — the stack's nginx in $T/nginx-main; sets NGINX_PID, BASE.
# rep CHAR N — CHAR repeated N times.
rep()
{
	local s
	s=$(printf "%${2}s" "")
	printf '%s' "${s// /$1}"
}

# "Nothing written" checks.  A test defines snapshot(), printing the
# state that must not change (rows, files, ...); rebase records it, and
# `unchanged DESC` compares the state now with it.  After a failure the
# new state becomes the base, so one failure is reported once;
# UNCHANGED_FAILURES counts them.
UNCHANGED_FAILURES=0
rebase()
{
	snapshot >"$T/snap.base"
}
unchanged()
{
	snapshot >"$T/snap.now"
	if cmp -s "$T/snap.base" "$T/snap.now"; then
		pass "$1: nothing written"
	else
		not_ok "$1: nothing written" "$(diff "$T/snap.base" "$T/snap.now")"
		rebase
		UNCHANGED_FAILURES=$((UNCHANGED_FAILURES + 1))
	fi
}

# nginx_reload — reload the main nginx (new CRL, new certificates) and
# wait until every worker of the old generation has exited, so that no
# later request can still reach a worker with the old configuration.
nginx_reload()
{
	local old pid
	old=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null)
	kill -HUP "$NGINX_PID" || return 1
	for pid in $old; do
		wait_for 30 _pid_gone "$pid" || return 1
	done
}
_pid_gone()
{
	! pid_alive "$1"
}

nginx_start()
{
	nginx_spawn main "$T/swarmctl.sock" "$T/tls/server.crt" "$T/tls/server.key" || return 1
	NGINX_PID=$SPAWNED_PID
	NGINX_PORT=$SPAWNED_PORT
	BASE=https://127.0.0.1:$NGINX_PORT
	export BASE
	# Harmless when swarmctl is not running yet (then it only proves TLS).
	if [ -n "${SWARMCTL_PID:-}" ] && pid_alive "$SWARMCTL_PID"; then
		if ! wait_for 60 health_ok; then
			not_ok "swarmctl answers /health through nginx" \
			    "$(tail -n 20 "$T/nginx-main/error.log" "$T/swarmctl.log" 2>/dev/null)"
			return 1
		fi
	fi
	return 0
}

nginx_stop()
{
	[ -n "${NGINX_PID:-}" ] || return 0
	stop_pid "$NGINX_PID" QUIT 15
	_untrack "$NGINX_PID"
	NGINX_PID=
}

# stack_up [serve args...] — the whole stack, ready for requests.
stack_up()
{
	pg_start || return 1
	if ! swarmctl_migrate; then
		not_ok "swarmctl migrate" "$(cat "$T/migrate.out")"
		return 1
	fi
	# STACK_CA_KEY_TYPE: quicker CAs for tests that run under valgrind.
	# STACK_INIT_ARGS: more init options (pkcs11.sh: keys on a token).
	# shellcheck disable=SC2086
	if [ ! -s "$T/ca/ca.crt" ] && ! swarmctl_init "$T/ca" \
	    ${STACK_CA_KEY_TYPE:+--ca-key-type "$STACK_CA_KEY_TYPE"} \
	    ${STACK_INIT_ARGS:-}; then
		not_ok "swarmctl init" "$(cat "$T/init.out")"
		return 1
	fi
	swarmctl_start "$@" || return 1
	# What clients of the front end trust: nginx's server certificate is
	# the front-end CA's (the worker CA is $T/ca/ca.crt).
	CACERT=$T/ca/front-ca.crt
	export CACERT
	operator_issue test-operator || return 1
	OPERATOR_CRT=$T/operators/test-operator.crt
	OPERATOR_KEY=$T/operators/test-operator.key
	export OPERATOR_CRT OPERATOR_KEY
	tls_make_server_cert "$T/ca" "$T/tls" || return 1
	nginx_start || return 1
	return 0
}

# stack_up_or_die [serve args...] — stack_up, or end the test right here.
stack_up_or_die()
{
	if ! stack_up "$@"; then
		not_ok "the test stack comes up"
		done_testing
	fi
}

# csr_flip_signature IN OUT — OUT: the PEM CSR IN with one bit of its
# signature flipped (the signature BIT STRING ends the DER): a CSR its
# key did not sign.
csr_flip_signature()
{
	openssl req -in "$1" -outform DER -out "$2.der" &&
	python3 - "$2.der" <<-'EOF'
	import sys
	p = sys.argv[1]
	b = bytearray(open(p, "rb").read())
	b[-1] ^= 0x01
	open(p, "wb").write(bytes(b))
	EOF
	{
		echo '-----BEGIN CERTIFICATE REQUEST-----'
		openssl base64 -in "$2.der"
		echo '-----END CERTIFICATE REQUEST-----'
	} >"$2"
}

# ------------------------------------------------------------ requests

# api METHOD PATH [curl args...] — one request through nginx.  Sets
# STATUS (HTTP code, 000 when no response) and BODY; the raw body is in
# $T/body and the response headers in $T/headers.
# operator_issue NAME — an operator certificate from the running stack's
# CA, in $T/operators/NAME.{crt,key,p12}.
operator_issue()
{
	mkdir -p "$T/operators"
	"$SWARMCTL_BIN" operator issue "$1" --out "$T/operators" \
	    --ca-dir "$T/ca" >"$T/operator-$1.out" 2>&1 || {
		not_ok "swarmctl operator issue $1" "$(cat "$T/operator-$1.out")"
		return 1
	}
}

# auth_args — curl arguments that present the test operator's certificate
# (none before stack_up has issued it).  API_AS_CRT/API_AS_KEY present
# another certificate; API_ANON=1 presents none.
auth_args()
{
	AUTH=()
	if [ "${API_ANON:-0}" = 1 ]; then
		return 0
	elif [ -n "${API_AS_CRT:-}" ]; then
		AUTH=(--cert "$API_AS_CRT" --key "$API_AS_KEY")
	elif [ -n "${OPERATOR_CRT:-}" ]; then
		AUTH=(--cert "$OPERATOR_CRT" --key "$OPERATOR_KEY")
	fi
}

api()
{
	local method=$1 path=$2
	shift 2
	auth_args
	STATUS=$(curl -sS --http1.1 --cacert "$CACERT" --max-time 120 \
	    "${AUTH[@]}" -H 'Expect:' -X "$method" -D "$T/headers" \
	    -o "$T/body" -w '%{http_code}' "$@" "$BASE$path" \
	    2>"$T/curl.err") || true
	BODY=$(cat "$T/body" 2>/dev/null)
}

# enroll JSON [curl args...] — POST /swarm/enroll with a JSON body.
enroll()
{
	local json=$1
	shift
	api POST /swarm/enroll -H 'Content-Type: application/json' \
	    --data-binary "$json" "$@"
}

# api_bg TAG METHOD PATH [curl args...] — api() in the background:
# status in $T/TAG.status, body in $T/TAG.body; sets BG_PID.
api_bg()
{
	local tag=$1 method=$2 path=$3
	shift 3
	auth_args
	curl -sS --http1.1 --cacert "$CACERT" "${AUTH[@]}" --max-time 120 \
	    -H 'Expect:' -X "$method" -o "$T/$tag.body" -w '%{http_code}' \
	    "$@" "$BASE$path" >"$T/$tag.status" 2>"$T/$tag.err" </dev/null &
	BG_PID=$!
}

# enroll_bg TAG JSON — enroll() in the background, as api_bg.
enroll_bg()
{
	api_bg "$1" POST /swarm/enroll -H 'Content-Type: application/json' \
	    --data-binary "$2"
}

# fcgi [--as-nobody] TARGET PARAM=VALUE... — one FastCGI request straight
# to the responder (unix socket path or HOST:PORT), bypassing nginx, with
# cgi-fcgi; --as-nobody runs it as user nobody.  Sets REPLY (the raw
# answer) and FCGI_STATUS (its Status, "none" without one).
fcgi()
{
	local run=()
	if [ "$1" = --as-nobody ]; then
		run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
		shift
	fi
	local target=$1
	shift
	REPLY=$("${run[@]}" env -i PATH=/usr/bin:/bin SCRIPT_FILENAME=/swarmctl \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 "$@" \
	    timeout 30 cgi-fcgi -bind -connect "$target" </dev/null 2>/dev/null) || true
	FCGI_STATUS=$(printf '%s\n' "$REPLY" | tr -d '\r' | sed -n 's/^Status: \([0-9]*\).*/\1/p' | head -n 1)
	FCGI_STATUS=${FCGI_STATUS:-none}
}

# enroll_burst N PREFIX — N enrollments at once through nginx as the
# test operator (one curl, N parallel transfers), of hosts PREFIX-1 to
# PREFIX-N; answer I in $T/burst/PREFIX-I.headers and .body.
enroll_burst()
{
	local n=$1 prefix=$2 i cfg=$T/burst/$2.curlrc
	mkdir -p "$T/burst"
	: >"$cfg"
	for i in $(seq 1 "$n"); do
		# "next" between transfers: one after the last is an error.
		[ "$i" -eq 1 ] || echo next >>"$cfg"
		cat >>"$cfg" <<-EOF
		url = "$BASE/swarm/enroll"
		cacert = "$CACERT"
		cert = "$OPERATOR_CRT"
		key = "$OPERATOR_KEY"
		http1.1
		max-time = 120
		header = "Content-Type: application/json"
		header = "Expect:"
		data-binary = "{\"name\":\"$prefix-$i\",\"address\":\"192.0.2.1\"}"
		dump-header = "$T/burst/$prefix-$i.headers"
		output = "$T/burst/$prefix-$i.body"
		EOF
	done
	curl -sS --parallel --parallel-immediate --parallel-max "$n" -K "$cfg" \
	    >/dev/null 2>"$T/burst/$prefix.err" || true
}

# burst_status PREFIX I — the HTTP status of enroll_burst's answer I
# ("none" when there was none).
burst_status()
{
	sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$T/burst/$1-$2.headers" \
	    2>/dev/null | grep . || echo none
}

# burst_statuses N PREFIX — "COUNT STATUS" for each status among the N
# answers of enroll_burst, e.g. "200 201".
burst_statuses()
{
	local i
	for i in $(seq 1 "$1"); do
		burst_status "$2" "$i"
	done | sort | uniq -c | awk '{ print $1, $2 }'
}

# header NAME — value of response header NAME from the last api call
# (case-insensitive; the last occurrence wins).
header()
{
	tr -d '\r' <"$T/headers" | awk -v h="$1" '
	    BEGIN { h = tolower(h) ":" }
	    tolower(substr($0, 1, length(h))) == h {
		v = substr($0, length(h) + 1); sub(/^[ \t]+/, "", v); last = v
	    }
	    END { print last }'
}

# json FILTER — apply a jq filter to the last response body.
json()
{
	jq -r "$@" <"$T/body" 2>/dev/null
}

# is_json_ct DESC — the last response says Content-Type: application/json.
is_json_ct()
{
	like "$(header Content-Type)" '^application/json( *;.*)?$' "$1"
}

# is_detail STATUS DETAIL DESC — the last response was STATUS with a JSON
# body {"detail": DETAIL} and a JSON Content-Type.
is_detail()
{
	local want=$1 detail=$2 desc=$3
	if [ "$STATUS" = "$want" ] &&
	    [ "$(json -c .)" = "$(jq -cn --arg d "$detail" '{detail: $d}')" ] &&
	    [[ $(header Content-Type) =~ ^application/json( *\;.*)?$ ]]; then
		pass "$desc"
	else
		not_ok "$desc" "want $want {\"detail\":\"$detail\"} (application/json)
got $STATUS $(header Content-Type): $BODY"
	fi
}

# host_count — rows in swarm_hosts.
host_count()
{
	sql 'SELECT count(*) FROM swarm_hosts'
}

uuidgen_lower()
{
	cat /proc/sys/kernel/random/uuid
}
