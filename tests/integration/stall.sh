#!/bin/bash
# stall.sh — stalled FastCGI peers cannot take the service down.  With
# `serve --workers 2 --read-timeout 2` on 127.0.0.1:PORT behind an nginx
# with the shipped configuration, four raw connections that each send
# one byte and then nothing (more than there are workers) are dropped
# after the deadline: the responder closes them, logs each, and GET
# /health through nginx answers 200 in about two deadlines (each worker
# holds a stalled connection for at most one) instead of never.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout

stack_up_or_die

DEADLINE=2
WORKERS=2
STALLED=4

FPORT=$(free_port) || bail "no free port"
env --default-signal=INT "$SWARMCTL_BIN" serve --listen "127.0.0.1:$FPORT" \
    --ca-dir "$T/ca" --workers "$WORKERS" --read-timeout "$DEADLINE" \
    </dev/null >>"$T/tcp.log" 2>&1 &
TCP_PID=$!
_track swarmctl "$TCP_PID"
wait_for 60 port_listening "$FPORT" ||
    bail "TCP responder did not start: $(tail -n 20 "$T/tcp.log")"

# An nginx with the shipped configuration whose upstream is the TCP
# responder instead of the unix socket.
NDIR=$T/nginx-tcp
NPORT=$(free_port) || bail "no free port"
nginx_write_conf "$NDIR" "$NPORT" "$T/placeholder.sock" "$T/tls/server.crt" \
    "$T/tls/server.key" || bail "nginx configuration"
sed -i "s|server unix:$T/placeholder.sock;|server 127.0.0.1:$FPORT;|" "$NDIR/swarmctl.conf"
grep -q "server 127.0.0.1:$FPORT;" "$NDIR/swarmctl.conf" || bail "upstream not substituted"
nginx -p "$NDIR/" -c "$NDIR/nginx.conf" -g 'daemon off;' </dev/null \
    >>"$NDIR/stderr.log" 2>&1 &
NGINX_TCP_PID=$!
_track nginx "$NGINX_TCP_PID"
wait_for 20 _nginx_listening "$NGINX_TCP_PID" "$NPORT" || bail "nginx did not start"
TCP_BASE=https://127.0.0.1:$NPORT

health_ok "$TCP_BASE"
ok "GET /health through nginx to the TCP responder answers 200" health_ok "$TCP_BASE"

# ---- more stalled connections than workers, each one byte (the start
# of a FastCGI record header) and then silence.
fds=()
for i in $(seq 1 "$STALLED"); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$FPORT" || bail "connect $i"
	printf '\001' >&"$fd"
	fds+=("$fd")
done
# Let the workers take the stalled connections before nginx's arrives.
sleep 0.5

start=$(date +%s%N)
code=$(curl -sS --cacert "$CACERT" --max-time 30 -o "$T/health.body" \
    -w '%{http_code}' "$TCP_BASE/health" 2>"$T/curl.err") || true
ms=$(( ($(date +%s%N) - start) / 1000000 ))
limit=$(( STALLED / WORKERS * DEADLINE * 1000 + 2000 ))
is "$code" 200 "with $STALLED stalled connections and $WORKERS workers, /health through nginx answers 200"
if [ "$ms" -le "$limit" ]; then
	pass "... within $limit ms (took $ms ms; read timeout ${DEADLINE}s)"
else
	not_ok "... within $limit ms (took $ms ms; read timeout ${DEADLINE}s)"
fi

# Each stalled connection was closed by the responder: reading from it
# ends at once (end of file), it does not wait for the full 5 s.
closed=0
for fd in "${fds[@]}"; do
	read -r -t 5 -u "$fd" _
	[ $? -le 128 ] && closed=$((closed + 1))
	exec {fd}<&-
done
is "$closed" "$STALLED" "the responder closed all $STALLED stalled connections"
is "$(grep -c "dropped: no complete request within $DEADLINE s" "$T/tcp.log")" "$STALLED" \
    "... and logged each of them"
ok "the responder is still running" pid_alive "$TCP_PID"
ok "... and still answers /health" health_ok "$TCP_BASE"

done_testing
