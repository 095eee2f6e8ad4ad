#!/bin/bash
# cli.sh — the command line: --help, --version, every subcommand's own
# --help (its usage on stdout, exit 0), unknown subcommands and options, and the start-up refusals of `swarmctl serve`: a database whose
# schema is behind (it must point at `swarmctl migrate`); with an
# unreachable database it starts anyway.  Nothing here goes through nginx.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout

# run CMD... — run with a time limit; sets RC, OUT (stdout), ERR (stderr).
run()
{
	timeout 120 "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

run "$SWARMCTL_BIN" --help
is "$RC" 0 "--help exits 0"
like "$OUT$ERR" "serve" "--help mentions serve"
like "$OUT$ERR" "migrate" "--help mentions migrate"

# Every command, and every operator subcommand, answers --help with its
# own usage on stdout and exit 0 -- wherever --help stands among options.
for cmd in serve migrate init operator "operator issue" "operator list" \
    "operator revoke" server-cert crl; do
	# shellcheck disable=SC2086
	run "$SWARMCTL_BIN" $cmd --help
	is "$RC" 0 "$cmd --help exits 0"
	like "$OUT" "^usage: swarmctl $cmd" "... and prints its own usage on stdout"
	is "$ERR" "" "... and nothing on stderr"
done
run "$SWARMCTL_BIN" serve --workers 2 -h
is "$RC" 0 "serve --workers 2 -h exits 0"
like "$OUT" "^usage: swarmctl serve" "... with serve's usage"
run "$SWARMCTL_BIN" operator issue alice --out "$T/never" --help
is "$RC" 0 "operator issue alice --out DIR --help exits 0"
like "$OUT" "^usage: swarmctl operator issue" "... with operator issue's usage"
fails "... and issues nothing" test -e "$T/never"

run "$SWARMCTL_BIN" --version
is "$RC" 0 "--version exits 0"
is "$(head -n 1 "$T/out")" "swarmctl 0.1.0" "--version prints 'swarmctl 0.1.0'"

run "$SWARMCTL_BIN" frobnicate
isnt "$RC" 0 "an unknown subcommand exits non-zero"
isnt "$RC" 124 "... and does not hang"
isnt "$ERR" "" "... with a message on stderr"

run "$SWARMCTL_BIN" serve --no-such-option
is "$RC" 2 "an unknown option of serve is a usage error (exit 2)"
like "$ERR" "--no-such-option" "... with a message on stderr"
like "$ERR" "usage: swarmctl serve" "... and serve's usage"

# ---- schema behind: a fresh database that was never migrated.
pg_start || bail "PostgreSQL did not start"
run "$SWARMCTL_BIN" serve --listen "unix:$T/cli.sock" --ca-dir "$T/ca" --workers 2
isnt "$RC" 0 "serve refuses a database whose schema is behind"
isnt "$RC" 124 "... promptly (it does not hang)"
like "$ERR" "swarmctl migrate" "... and tells the operator to run 'swarmctl migrate'"
is "$(sql "SELECT count(*) FROM pg_tables WHERE tablename = 'swarm_hosts'")" 0 \
    "... without creating tables itself"

# After migrating, the same command line serves (proves the refusal above
# was about the schema and not about the command line).
if swarmctl_migrate; then
	pass "swarmctl migrate succeeds"
else
	not_ok "swarmctl migrate succeeds" "$(cat "$T/migrate.out")"
fi
# ... and, the CAs not created yet, serve refuses to make one itself.
run "$SWARMCTL_BIN" serve --listen "unix:$T/cli.sock" --ca-dir "$T/ca" --workers 2
is "$RC" 1 "serve without a CA exits 1"
like "$ERR" "swarmctl init" "... telling the operator to run 'swarmctl init'"
ok "... and creates no CA directory" test ! -e "$T/ca"
if swarmctl_init "$T/ca"; then
	pass "swarmctl init succeeds"
else
	not_ok "swarmctl init succeeds" "$(cat "$T/init.out")"
fi
swarmctl_spawn "$T/cli.sock" "$T/swarmctl.log" --workers 2
pid=$SPAWNED_PID
ok "serve starts once the schema is current" swarmctl_wait_ready "$pid" "$T/cli.sock"
stop_pid "$pid" TERM 30
is "$EXIT_STATUS" 0 "... and exits 0 on SIGTERM"

# ---- unreachable database: a socket directory with no server in it.
mkdir -p "$T/nowhere"
nodb="host=$T/nowhere port=5 dbname=swarm user=postgres connect_timeout=5"
# serve starts anyway (README "Faults": db_down_start.sh has the rest).
swarmctl_spawn "$T/cli2.sock" "$T/swarmctl2.log" --db "$nodb"
pid=$SPAWNED_PID
ok "serve with an unreachable database starts anyway" swarmctl_wait_ready "$pid" "$T/cli2.sock"
err=$(tr 'A-Z' 'a-z' <"$T/swarmctl2.log")
like "$err" "database" "... with a message about the database"
like "$err" "unreachable|unavailable|could not connect|connection" \
    "... saying it cannot be reached"
unlike "$(cat "$T/swarmctl2.log")" "PRIVATE KEY" "... and no key material in its log"
stop_pid "$pid" TERM 30
is "$EXIT_STATUS" 0 "... and exits 0 on SIGTERM"

run "$SWARMCTL_BIN" migrate --db "$nodb"
isnt "$RC" 0 "migrate with an unreachable database exits non-zero"
isnt "$RC" 124 "... promptly"

done_testing
