#!/bin/bash
# socket_takeover.sh — a second `swarmctl serve` on the --listen path of
# a live one refuses to start (README "Faults"): it exits 1 with a message
# naming the socket, the socket file is untouched (same inode), and the
# first process still answers through nginx.  A stale socket (its process
# killed with SIGKILL) is replaced: a new serve starts on it and answers.
# A path that is not a socket is never removed.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout stat

stack_up_or_die
inode=$(stat -c %i "$SOCK")

# serve_on SOCKET LOG [serve args...] — `swarmctl serve` on SOCKET
# without removing what is there (unlike swarmctl_spawn); waits for it to
# end, up to 60 s, and sets SERVE_STATUS (124 when it did not end).
serve_on()
{
	local sock=$1 log=$2
	shift 2
	timeout 60 "$SWARMCTL_BIN" serve --listen "unix:$sock" --ca-dir "$T/ca" \
	    --workers 1 "$@" </dev/null >"$log" 2>&1
	SERVE_STATUS=$?
}

# ---- live: refused
serve_on "$SOCK" "$T/second.log"
is "$SERVE_STATUS" 1 "a second serve on a live socket exits 1"
like "$(cat "$T/second.log")" "$SOCK: another process is serving on this socket" \
    "... naming the socket and saying why"
is "$(stat -c %i "$SOCK" 2>/dev/null)" "$inode" "the socket file is untouched"
ok "the first swarmctl is still running" pid_alive "$SWARMCTL_PID"
api GET /health
is "$STATUS" 200 "... and still answers through nginx"
enroll '{"name":"still-here","address":"192.0.2.7"}'
is "$STATUS" 201 "... enrollments included"

# ---- stale: replaced
kill -KILL "$SWARMCTL_PID"
wait_exit "$SWARMCTL_PID" 10 || true
_untrack "$SWARMCTL_PID"
ok "SIGKILL leaves a stale socket file behind" [ -S "$SOCK" ]
"$SWARMCTL_BIN" serve --listen "unix:$SOCK" --ca-dir "$T/ca" --workers 2 \
    </dev/null >>"$T/swarmctl.log" 2>&1 &
SWARMCTL_PID=$!
_track swarmctl "$SWARMCTL_PID"
if wait_for 60 health_ok; then
	pass "a new serve replaces the stale socket and answers through nginx"
else
	not_ok "a new serve replaces the stale socket and answers through nginx" \
	    "$(tail -n 5 "$T/swarmctl.log")"
fi

# ---- not a socket: left alone
echo keep >"$T/not-a-socket"
serve_on "$T/not-a-socket" "$T/third.log"
is "$SERVE_STATUS" 1 "serve on a path that is not a socket exits 1"
is "$(cat "$T/not-a-socket")" keep "... and leaves the file alone"

done_testing
