#!/bin/bash
# drain.sh — SIGTERM drains (README "Faults"): every connection that
# reached the socket before the signal gets its answer.  24 enrollments
# are queued on the socket of a swarmctl held with SIGSTOP (so none is
# served yet, and ss shows all 24 waiting in the listen queue), SIGTERM is
# sent, then SIGCONT: every one gets 201, with its row and a bundle that
# matches, and swarmctl exits 0.  Over the stack's unix socket, a request
# sent after the signal is not queued behind the drain: it gets nginx's
# JSON 503 with Retry-After at once, and the socket file is removed.
# The same drain over a TCP listener (127.0.0.1, its own nginx), where
# shutdown(2) of the listener would reset every queued connection.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

N=24
stack_up_or_die --workers 4 --key-type rsa-3072

# queued — connections waiting in the listen queue of the responder
# (its listening socket's Recv-Q): $SOCK, or 127.0.0.1:$TCP_PORT.
queued()
{
	if [ -n "${TCP_PORT:-}" ]; then
		ss -Hltn "( sport = :$TCP_PORT )" 2>/dev/null | awk '{ print $2 }'
	else
		ss -Hxl 2>/dev/null | awk -v s="$SOCK" '$5 == s { print $3 }'
	fi
}
all_queued()
{
	[ "$(queued)" = "$N" ]
}

# drain PREFIX — $N enrollments queued on the stopped responder, then
# SIGTERM and SIGCONT: each must get 201 and swarmctl exit 0.
drain()
{
	local prefix=$1 burst_pid i name fp good=0
	kill -STOP "$SWARMCTL_PID"
	enroll_burst "$N" "$prefix" &
	burst_pid=$!
	if wait_for 60 all_queued; then
		pass "$prefix: $N enrollments wait in the listen queue of a stopped swarmctl"
	else
		not_ok "$prefix: $N enrollments wait in the listen queue of a stopped swarmctl" \
		    "queued: $(queued)"
	fi
	kill -TERM "$SWARMCTL_PID"
	kill -CONT "$SWARMCTL_PID"
	# hook: what to check while the queue drains
	"${prefix}_during_drain"
	wait "$burst_pid"
	is "$(burst_statuses "$N" "$prefix")" "$N 201" \
	    "$prefix: every enrollment queued before SIGTERM gets 201" ||
	    diag "$(tail -n 5 "$T/nginx-$prefix/error.log" "$T/nginx-main/error.log" 2>/dev/null)"
	if wait_exit "$SWARMCTL_PID" 60; then
		is "$EXIT_STATUS" 0 "$prefix: swarmctl then exits with status 0"
	else
		not_ok "$prefix: swarmctl exits within 60 s of the drain"
		swarmctl_stop KILL
	fi
	_untrack "$SWARMCTL_PID"
	SWARMCTL_PID=
	for i in $(seq 1 "$N"); do
		name=$prefix-$i
		fp=$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = '$name'")
		[ -n "$fp" ] &&
		    [ "$(jq -r .fingerprint "$T/burst/$name.body" 2>/dev/null)" = "$fp" ] &&
		    [ "$(cert_fingerprint "$T/ca/workers/$name/worker.crt" 2>/dev/null)" = "$fp" ] &&
		    good=$((good + 1))
	done
	is "$good" "$N" "$prefix: each has its row and a bundle matching the row and the response"
}

# ---- a unix socket (the stack's)
# One request after the signal: refused at once, not queued.
unix_during_drain()
{
	local start
	start=$(date +%s)
	api GET /health
	is "$STATUS" 503 "unix: a request sent after SIGTERM gets 503"
	is "$(json -c .)" '{"detail":"swarmctl responder unavailable or overloaded, retry later"}' \
	    "... JSON detail"
	is "$(header Retry-After)" 5 "... with Retry-After"
	ok "... at once, not after the drain" [ $(($(date +%s) - start)) -lt 5 ]
}
drain unix
ok "unix: the socket file is removed" [ ! -e "$SOCK" ]
like "$(cat "$T/swarmctl.log")" "received SIGTERM: answering the connections already queued" \
    "the log says the queue is being answered"

# ---- a TCP socket, behind an nginx of its own: shutdown(2) of a TCP
# listener would reset every queued connection.
tcp_during_drain()
{
	:
}
TCP_PORT=$(free_port) || bail "no free port"
swarmctl_spawn "$T/unused.sock" "$T/swarmctl-tcp.log" --listen "127.0.0.1:$TCP_PORT" \
    --workers 4 --key-type rsa-3072
SWARMCTL_PID=$SPAWNED_PID
tcp_listening()
{
	pid_alive "$SWARMCTL_PID" && port_listening "$TCP_PORT"
}
wait_for 60 tcp_listening || bail "swarmctl did not listen on 127.0.0.1:$TCP_PORT"
nginx_write_conf "$T/nginx-tcp" "$(free_port)" "$T/unused.sock" "$T/tls/server.crt" \
    "$T/tls/server.key" || bail "nginx configuration"
sed -i "s|server unix:$T/unused.sock;|server 127.0.0.1:$TCP_PORT;|" "$T/nginx-tcp/swarmctl.conf"
grep -q "server 127.0.0.1:$TCP_PORT;" "$T/nginx-tcp/swarmctl.conf" || bail "nginx upstream"
port=$(sed -n 's/.*listen 127\.0\.0\.1:\([0-9]*\) ssl;.*/\1/p' "$T/nginx-tcp/swarmctl.conf")
nginx -p "$T/nginx-tcp/" -c "$T/nginx-tcp/nginx.conf" -g 'daemon off;' \
    </dev/null >>"$T/nginx-tcp/stderr.log" 2>&1 &
_track nginx "$!"
wait_for 20 port_listening "$port" || bail "nginx for TCP did not start"
BASE=https://127.0.0.1:$port
wait_for 30 health_ok || bail "no /health through nginx over TCP"
drain tcp

done_testing
