#!/bin/bash
# ca_backup.sh — the README's backup and restore of a file-key CA, done
# as written: a tar of the four CA files (keys 0600) taken while serve
# runs; the CA directory lost; restored from the tar into a new 0700
# directory, `swarmctl init` run again (it keeps the restored CAs, makes
# workers/ and checks them against the database), serve started.  The
# restored service is the same CA: the old worker certificate verifies,
# the old host can be revoked and the rebuilt CRL lists it, new workers
# enroll under the same root, operators keep working.  A backup without
# the keys is refused by init rather than replaced by a new CA.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
# shellcheck source=../lib/crl.sh
. "$TOP_SRCDIR/tests/lib/crl.sh"

stack_up_or_die
CA=$T/ca
enroll '{"name":"before","address":"192.0.2.71"}'
is "$STATUS" 201 "a worker enrolled before the backup" || diag "$BODY"
OLD_UUID=$(json .host_uuid)
cp "$CA/workers/before/worker.crt" "$T/before.crt"
fp_before=$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256)

# ---- backup (README, "Backing up and restoring the CA")
(umask 077 && tar -C "$CA" -cpzf "$T/ca-backup.tgz" ca.crt ca.key front-ca.crt front-ca.key)
is "$?" 0 "tar of the CA files"
is "$(tar -tvzf "$T/ca-backup.tgz" | awk '$6 == "ca.key" { print $1 }')" "-rw-------" \
    "the backup keeps ca.key 0600"

# ---- the CA directory is lost
swarmctl_stop
rm -rf "$CA"

# A backup without the keys: init refuses to make a new CA over it.
install -d -m 700 "$CA"
tar -C "$CA" -xpzf "$T/ca-backup.tgz" ca.crt front-ca.crt
swarmctl_init "$CA"
isnt "$?" 0 "init refuses certificates without their keys"
like "$(cat "$T/init.out")" "refusing to replace an existing CA" "and says why"
is "$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256)" "$fp_before" "ca.crt left alone"

# ---- restore
rm -rf "$CA"
install -d -m 700 "$CA"
tar -C "$CA" -xpzf "$T/ca-backup.tgz"
swarmctl_init "$CA"
is "$?" 0 "init after the restore" || diag "$(cat "$T/init.out")"
like "$(cat "$T/init.out")" "kept worker CA" "init keeps the restored CAs"
is "$(stat -c %a "$CA/ca.key")" 600 "the restored ca.key is 0600"
swarmctl_start || { not_ok "serve on the restored CA"; done_testing; }
is "$(openssl x509 -in "$CA/ca.crt" -noout -fingerprint -sha256)" "$fp_before" "the same worker CA"
is "$(openssl verify -CAfile "$CA/ca.crt" "$T/before.crt" 2>&1)" "$T/before.crt: OK" \
    "the worker enrolled before the loss still verifies"

api GET "/swarm/hosts/$OLD_UUID"
is "$STATUS" 200 "the operator's certificate (issued before) still works" || diag "$BODY"
enroll '{"name":"after","address":"192.0.2.72"}'
is "$STATUS" 201 "a new worker enrolls on the restored CA" || diag "$BODY"
is "$(openssl verify -CAfile "$CA/ca.crt" "$CA/workers/after/worker.crt" 2>&1)" \
    "$CA/workers/after/worker.crt: OK" "under the same root"

serial=$(cert_serial "$T/before.crt")
api DELETE "/swarm/hosts/$OLD_UUID"
is "$STATUS" 204 "the old worker can be decommissioned" || diag "$BODY"
ok "the restored CA's CRL lists the old worker's serial" wait_for 15 crl_lists "$CA/crl.pem" "$serial"
like "$(openssl crl -in "$CA/crl.pem" -CAfile "$CA/ca.crt" -noout 2>&1)" 'verify OK' \
    "and verifies against the restored CA"

done_testing
