#!/bin/bash
# fcgi_peer.sh — the FastCGI socket is the trust boundary (README, "Threat
# model": whoever reaches the socket is nginx), seen from a local user who
# speaks FastCGI to the responder directly with cgi-fcgi, bypassing nginx:
#   - `serve --listen` on a non-loopback TCP address refuses to start
#     without --fcgi-allow, and binds nothing;
#   - with --listen 127.0.0.1:PORT, an unprivileged local user (nobody)
#     who sends HTTPS=on, SSL_CLIENT_VERIFY=SUCCESS and an operator's
#     public certificate gets no answer at all: the connection is closed
#     before a request is read, and the log says so; the same request
#     from root (who can read the CA key anyway) is served, so the request
#     itself is a working forgery;
#   - --allow-loopback-operator is decided from the connection's real
#     peer: nobody's REMOTE_ADDR=127.0.0.1 gets nothing (and 403 once
#     --fcgi-allow-user admits nobody as a web server), while root over
#     loopback is an operator without any certificate; a request the
#     front end says came through TLS, or from a remote client, never is;
#   - over a unix socket with --fcgi-allow-user, a peer of another uid
#     (SO_PEERCRED) is refused even when the socket's mode lets it in;
#   - FCGI_WEB_SERVER_ADDRS, libfcgi's allow-list, is honoured.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd psql cgi-fcgi setpriv jq

stack_up_or_die
enroll '{"name":"secret-host","address":"192.0.2.50"}'
is "$STATUS" 201 "the operator enrolls secret-host through nginx" || diag "$BODY"

NOBODY_UID=$(id -u nobody) || bail "no user nobody"

# fcgi (tests/lib/stack.sh) speaks FastCGI to the responder directly.
# tcp_serve LOG [serve args...] — a second responder on 127.0.0.1:$FPORT
# (same database and CA); sets TCP_PID.
FPORT=$(free_port) || bail "no free port"
tcp_serve()
{
	local log=$1
	shift
	env --default-signal=INT "$@" "$SWARMCTL_BIN" serve --listen "127.0.0.1:$FPORT" \
	    --ca-dir "$T/ca" --workers 2 "${SERVE_ARGS[@]}" </dev/null >>"$log" 2>&1 &
	TCP_PID=$!
	_track swarmctl "$TCP_PID"
	wait_for 60 port_listening "$FPORT"
}
tcp_stop()
{
	stop_pid "$TCP_PID" TERM 30
	_untrack "$TCP_PID"
}

# The operator's certificate as nginx passes it ($ssl_client_escaped_cert):
# public, anyone on the host may have a copy.
CERT_PARAM=$(jq -sRr @uri <"$OPERATOR_CRT")
FORGED=(PATH_INFO=/swarm/hosts HTTPS=on SSL_CLIENT_VERIFY=SUCCESS
    "SSL_CLIENT_CERT=$CERT_PARAM" REMOTE_ADDR=192.0.2.99)

# ---- a non-loopback TCP listener needs --fcgi-allow
for addr in 0.0.0.0 '[::]'; do
	port=$(free_port)
	timeout 60 "$SWARMCTL_BIN" serve --listen "$addr:$port" --ca-dir "$T/ca" \
	    --workers 1 </dev/null >"$T/wild.out" 2>&1
	rc=$?
	isnt "$rc" 0 "serve --listen $addr:PORT without --fcgi-allow refuses to start"
	isnt "$rc" 124 "... promptly"
	like "$(cat "$T/wild.out")" "not a loopback address.*--fcgi-allow" \
	    "... saying why and naming --fcgi-allow"
	fails "... and never listened on the port" port_listening "$port"
done

# ---- TCP on loopback, --allow-loopback-operator
SERVE_ARGS=(--allow-loopback-operator)
tcp_serve "$T/tcp.log" || bail "TCP responder did not start: $(tail -n 20 "$T/tcp.log")"
like "$(cat "$T/tcp.log")" "warning: FastCGI over TCP: any local user" \
    "a TCP listener logs a warning that local users could act as nginx"

fcgi --as-nobody "127.0.0.1:$FPORT" "${FORGED[@]}"
is "$FCGI_STATUS" none "nobody, forged SSL_CLIENT_VERIFY=SUCCESS + the operator's public certificate: no answer"
unlike "$REPLY" secret-host "... and no host list"
like "$(cat "$T/tcp.log")" "FastCGI connection from 127.0.0.1 port [0-9]+, uid $NOBODY_UID refused" \
    "... the connection was refused, and the log names the uid"
fcgi --as-nobody "127.0.0.1:$FPORT" PATH_INFO=/health
is "$FCGI_STATUS" none "nobody gets nothing at all, not even /health"

# Control: the very same bytes from root are a valid operator request
# (root can read the CA key: nothing is granted that it lacks).
fcgi "127.0.0.1:$FPORT" "${FORGED[@]}"
is "$FCGI_STATUS" 200 "the same forged request from root is served (the forgery is well-formed)"
like "$REPLY" secret-host "... with the host list"

fcgi --as-nobody "127.0.0.1:$FPORT" PATH_INFO=/swarm/hosts REMOTE_ADDR=127.0.0.1
is "$FCGI_STATUS" none "nobody claiming REMOTE_ADDR=127.0.0.1, no TLS: no answer"
unlike "$REPLY" secret-host "... and no host list"

fcgi "127.0.0.1:$FPORT" PATH_INFO=/swarm/hosts
is "$FCGI_STATUS" 200 "root over loopback, no certificate, --allow-loopback-operator: 200"
like "$REPLY" secret-host "... with the host list"
fcgi "127.0.0.1:$FPORT" PATH_INFO=/swarm/hosts REMOTE_ADDR=::1
is "$FCGI_STATUS" 200 "... also with REMOTE_ADDR=::1"
fcgi "127.0.0.1:$FPORT" PATH_INFO=/swarm/hosts HTTPS=on REMOTE_ADDR=127.0.0.1
is "$FCGI_STATUS" 403 "root, but the front end says TLS (no certificate): 403"
fcgi "127.0.0.1:$FPORT" PATH_INFO=/swarm/hosts REMOTE_ADDR=192.0.2.7
is "$FCGI_STATUS" 403 "root, but the front end says a remote client: 403"
tcp_stop

# ---- nobody admitted as a web server: the loopback exception still
# comes from who nobody is, not from the REMOTE_ADDR it claims.
SERVE_ARGS=(--allow-loopback-operator --fcgi-allow-user nobody)
tcp_serve "$T/tcp2.log" || bail "TCP responder did not start: $(tail -n 20 "$T/tcp2.log")"
fcgi --as-nobody "127.0.0.1:$FPORT" PATH_INFO=/health
is "$FCGI_STATUS" 200 "--fcgi-allow-user nobody: nobody's /health is served"
fcgi --as-nobody "127.0.0.1:$FPORT" PATH_INFO=/swarm/hosts REMOTE_ADDR=127.0.0.1
is "$FCGI_STATUS" 403 "... but REMOTE_ADDR=127.0.0.1 from nobody is no operator: 403"
unlike "$REPLY" secret-host "... and no host list"
tcp_stop

# ---- FCGI_WEB_SERVER_ADDRS: an address listed there is a web server,
# whoever connects from it (the libfcgi semantics, documented).
SERVE_ARGS=()
tcp_serve "$T/tcp3.log" FCGI_WEB_SERVER_ADDRS=192.0.2.1,127.0.0.1 ||
    bail "TCP responder did not start: $(tail -n 20 "$T/tcp3.log")"
fcgi --as-nobody "127.0.0.1:$FPORT" PATH_INFO=/health
is "$FCGI_STATUS" 200 "FCGI_WEB_SERVER_ADDRS=...,127.0.0.1: nobody over loopback is served"
tcp_stop

# ---- unix socket: the mode is the boundary; --fcgi-allow-user narrows it
USOCK=$T/narrow.sock
swarmctl_spawn "$USOCK" "$T/unix.log" --workers 2 --fcgi-allow-user daemon
UNIX_PID=$SPAWNED_PID
swarmctl_wait_ready "$UNIX_PID" "$USOCK" || bail "unix responder did not start"
is "$(stat -c %a "$USOCK")" 660 "the unix socket is 0660"
fcgi --as-nobody "$USOCK" PATH_INFO=/health
is "$FCGI_STATUS" none "nobody cannot connect to it (the kernel refuses)"
chmod 666 "$USOCK"
fcgi --as-nobody "$USOCK" PATH_INFO=/health
is "$FCGI_STATUS" none "socket opened to all (0666), --fcgi-allow-user daemon: nobody still gets nothing"
like "$(cat "$T/unix.log")" "FastCGI connection from unix socket, uid $NOBODY_UID pid [0-9]+ refused" \
    "... refused by its SO_PEERCRED uid, and logged"
fcgi "$USOCK" PATH_INFO=/health
is "$FCGI_STATUS" 200 "root is served on it"
stop_pid "$UNIX_PID" TERM 30

# Through nginx, nothing changed.
api GET /swarm/hosts
is "$STATUS" 200 "the operator still lists hosts through nginx"

done_testing
