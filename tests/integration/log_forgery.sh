#!/bin/bash
# log_forgery.sh — nobody can forge lines in the service log.  Requests
# through nginx whose decoded path carries a newline followed by a fake
# log line, a terminal escape sequence or non-ASCII bytes, and a
# FastCGI request (cgi-fcgi, bypassing nginx) whose method carries a
# newline, each leave exactly one log line, with those bytes escaped
# (\n, \x1b, \xc3\xa9): every line of the log starts with a timestamp of
# swarmctl's, the fake line never starts one, and no ESC byte reaches it.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd cgi-fcgi

stack_up_or_die
LOG=$T/swarmctl.log

FAKE='2026-01-01T00:00:00.000Z swarmctl[1] info: DELETE /swarm/hosts/forged 204 0.100ms'
FAKE_URI=$(jq -rn --arg s "$FAKE" '$s | @uri')

# line_count — lines in the log now.
line_count()
{
	wc -l <"$LOG"
}

# ---- a newline in the path, through nginx
before=$(line_count)
api GET "/health%0a$FAKE_URI"
is "$STATUS" 404 "a path with %0a and a fake log line after it is a 404"
like "$(tail -n +"$((before + 1))" "$LOG")" 'GET /health\\n2026-01-01T00:00:00\.000Z swarmctl\[1\] info: DELETE /swarm/hosts/forged 204' \
    "... logged with the newline escaped as \\n"
is "$(grep -c '^2026-01-01T00:00:00.000Z' "$LOG")" 0 "... and the fake line starts no line of the log"
is "$(( $(line_count) - before ))" 1 "... one request, one log line"

# ---- a terminal escape sequence and non-ASCII bytes, through nginx
api GET "/%1b%5b2J%1b%5d0;owned%07/caf%C3%A9"
is "$STATUS" 404 "a path with ESC sequences and UTF-8 is a 404"
like "$(tail -n 1 "$LOG")" 'GET /\\x1b\[2J\\x1b\]0;owned\\x07/caf\\xc3\\xa9 404' \
    "... logged as \\x1b[2J, \\x07 and \\xc3\\xa9"
is "$(grep -c $'\x1b' "$LOG")" 0 "no ESC byte anywhere in the log"

# ---- a newline in the method, straight over FastCGI (a method fits in
# 16 bytes: enough to start a line of one's own)
before=$(line_count)
env -i PATH=/usr/bin:/bin SCRIPT_FILENAME=/swarmctl PATH_INFO=/health \
    REQUEST_METHOD=$'G\nFORGED' timeout 30 cgi-fcgi -bind -connect "$SOCK" \
    </dev/null >"$T/fcgi.out" 2>&1
like "$(cat "$T/fcgi.out")" 'Status: 405' "a method with a newline in it is answered (405)"
like "$(tail -n 1 "$LOG")" 'info: G\\nFORGED /health 405' "... logged with the newline escaped as \\n"
is "$(grep -c '^FORGED' "$LOG")" 0 "... and starts no line of its own"
is "$(( $(line_count) - before ))" 1 "... one request, one log line"

unlike "$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z swarmctl\[[0-9]+\] (info|warning|error): ' "$LOG")" '.' \
    "every line of the log is one of swarmctl's own"

done_testing
