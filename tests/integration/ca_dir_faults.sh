#!/bin/bash
# ca_dir_faults.sh — the CA directory full (a small tmpfs over
# CA_DIR/workers, filled up) or read-only (a read-only bind mount):
# an enrollment answers 503 with a detail naming the CA directory (not
# 500 "internal error"), leaves no row, no bundle and no temporary
# directory, /swarm/ready says so, and once the directory is fixed the
# same process enrolls again.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

MOUNTED=()
_ca_dir_exit()
{
	local rc=$? m
	for m in "${MOUNTED[@]}"; do
		umount "$m" 2>/dev/null
	done
	(exit "$rc")
	_stack_cleanup
}
trap _ca_dir_exit EXIT

is_503_ca_dir()
{
	if [ "$STATUS" = 503 ] && [[ $(json '.detail | ascii_downcase') == *"ca directory"* ]] &&
	    [[ $(header Content-Type) =~ ^application/json ]]; then
		pass "$1"
	else
		not_ok "$1" "want 503 with a detail about the CA directory, got $STATUS: $BODY"
	fi
}
ready_status() { api GET /swarm/ready --max-time 10; [ "$STATUS" = "$1" ]; }

stack_up_or_die
pid=$SWARMCTL_PID
W=$T/ca/workers
enroll '{"name":"first","address":"192.0.2.60"}'
is "$STATUS" 201 "an enrollment before the faults" || diag "$BODY"

# Full: a 256 KiB tmpfs over workers/, filled to the last byte.
mv "$W" "$T/workers.saved"
install -d -m 0700 "$W"
mount -t tmpfs -o size=256k,mode=0700 swarmctl-test "$W" || bail "mount tmpfs"
MOUNTED=("$W")
dd if=/dev/zero of="$W/.fill" bs=4k 2>/dev/null
enroll '{"name":"full","address":"192.0.2.61"}'
is_503_ca_dir "CA directory full: enroll is 503 naming the CA directory"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'full'")" 0 "... no row"
is "$(ls -A "$W")" ".fill" "... and nothing written (no bundle, no temporary directory)"
ok "/swarm/ready says not ready" wait_for 10 ready_status 503
like "$(json .detail)" "CA directory" "... naming the CA directory"
rm -f "$W/.fill"
enroll '{"name":"full","address":"192.0.2.61"}'
is "$STATUS" 201 "space freed: the same enrollment succeeds" || diag "$BODY"
ok "/swarm/ready is 200 again" wait_for 10 ready_status 200
umount "$W"
MOUNTED=()
rmdir "$W"
mv "$T/workers.saved" "$W"

# Read-only: a read-only bind mount of workers/ on itself.
snapshot=$(ls -A "$W")
mount --bind "$W" "$W" && MOUNTED=("$W") &&
    mount -o remount,bind,ro "$W" || bail "read-only bind mount"
enroll '{"name":"readonly","address":"192.0.2.62"}'
is_503_ca_dir "CA directory read-only: enroll is 503 naming the CA directory"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'readonly'")" 0 "... no row"
is "$(ls -A "$W")" "$snapshot" "... nothing written"
ok "/swarm/ready says not ready" wait_for 10 ready_status 503
like "$(json .detail)" "CA directory" "... naming the CA directory"
api GET /health
is "$STATUS" 200 "/health is 200 meanwhile"
umount "$W"
MOUNTED=()
enroll '{"name":"readonly","address":"192.0.2.62"}'
is "$STATUS" 201 "writable again: the same enrollment succeeds" || diag "$BODY"
ok "/swarm/ready is 200 again" wait_for 10 ready_status 200
is "$SWARMCTL_PID" "$pid" "the same process throughout"

done_testing
