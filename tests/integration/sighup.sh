#!/bin/bash
# sighup.sh — SIGHUP re-opens the log and re-reads the CRLs, and the
# service keeps serving (README "Faults", "Signals"):
#   - logging to standard error, SIGHUP leaves the process serving;
#   - with --log-file, after logrotate's move (mv, then SIGHUP) the same
#     process (same PID) writes to a new file at the path, the old file
#     keeps what came before, and requests through nginx still get 200;
#   - CRL files removed from CA_DIR are published again at SIGHUP;
#   - SIGTERM after SIGHUPs still exits 0.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

# ---- standard error (no --log-file)
pid=$SWARMCTL_PID
kill -HUP "$pid"
sleep 1
ok "SIGHUP leaves swarmctl running" pid_alive "$pid"
api GET /health
is "$STATUS" 200 "... and serving"
like "$(cat "$T/swarmctl.log")" "received SIGHUP" "... and logs the SIGHUP on standard error"

# ---- --log-file
LOG=$T/swarmctl-file.log
swarmctl_stop
swarmctl_start --log-file "$LOG" || bail "swarmctl did not start with --log-file"
pid=$SWARMCTL_PID

api GET /health
is "$STATUS" 200 "GET /health with --log-file"
like "$(cat "$LOG" 2>/dev/null)" "GET /health 200" "the request is logged in the --log-file"

# ---- logrotate: move the file away, then SIGHUP
mv "$LOG" "$LOG.1"
kill -HUP "$pid"
log_reopened()
{
	[ -e "$LOG" ]
}
ok "after SIGHUP a new log file is created at the path" wait_for 10 log_reopened
ok "swarmctl is still running" pid_alive "$pid"
is "$SWARMCTL_PID" "$pid" "... the same process"
api GET /swarm/hosts
is "$STATUS" 200 "requests through nginx still get 200"
like "$(cat "$LOG" 2>/dev/null)" "GET /swarm/hosts 200" "... and are logged in the new file"
unlike "$(cat "$LOG.1")" "GET /swarm/hosts" "... not in the moved one"
like "$(cat "$LOG.1")" "received SIGHUP" "the moved file ends with the SIGHUP"
is "$(stat -c %a "$LOG")" 640 "the new log file is mode 0640"

# ---- the CRLs: removed, then republished at SIGHUP
rm -f "$T/ca/crl.pem" "$T/ca/front-crl.pem"
kill -HUP "$pid"
crls_back()
{
	[ -s "$T/ca/crl.pem" ] && [ -s "$T/ca/front-crl.pem" ]
}
ok "SIGHUP republishes missing CRLs" wait_for 20 crls_back
ok "... valid worker CA CRL" openssl crl -in "$T/ca/crl.pem" -CAfile "$T/ca/ca.crt" -noout
ok "... valid front-end CA CRL" openssl crl -in "$T/ca/front-crl.pem" -CAfile "$T/ca/front-ca.crt" -noout
api GET /swarm/crl.pem
is "$STATUS" 200 "GET /swarm/crl.pem serves it"
ok "swarmctl is still running, same PID" pid_alive "$pid"

# ---- SIGTERM after SIGHUPs
swarmctl_stop TERM
is "$EXIT_STATUS" 0 "SIGTERM after SIGHUPs: exit status 0"


done_testing
