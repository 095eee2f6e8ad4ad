#!/bin/bash
# validation.sh — malformed requests change nothing and get the right
# 4xx: 400 for a body that is not JSON, 415 for a wrong or missing
# Content-Type, 413 for bodies over the cap (nginx's 64 KiB and the
# responder's own --max-body), 422 with FastAPI's detail list (one entry
# per bad field, loc ["body", field]) for every field rule of
# EnrollRequest, and 422 for a bad query.  Also the accepted edges of each
# rule, the defaults, and that unknown fields are ignored.  After every
# rejected request: no new row, nothing new under CA_DIR (no bundle
# directory, no .tmp-* left), and the service keeps serving.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

# ---- "nothing written" bookkeeping
snapshot()
{
	printf 'rows=%s\n' "$(host_count)"
	tree_snapshot "$T/ca"
}
# accepted DESC JSON [curl args] — enrolment succeeds (201).
accepted()
{
	local desc=$1 body=$2
	shift 2
	enroll "$body" "$@"
	is "$STATUS" 201 "$desc: 201" || diag "$BODY"
	rebase
}

# check_422 DESC JSON FIELD... — 422 whose detail has exactly one entry
# per FIELD, each with loc ["body", FIELD] and string msg and type.  As in
# FastAPI, an error in one element of a list may name the element:
# ["body", "sans", INDEX].
check_422()
{
	local desc=$1 body=$2 want got
	shift 2
	enroll "$body"
	want=$(printf '%s\n' "$@" | LC_ALL=C sort | paste -sd,)
	got=$(json '[.detail[] | .loc
	    | if (.[0] == "body" and (length == 2 or (length == 3 and (.[2] | type) == "number")))
	      then .[1] else tojson end] | sort | join(",")')
	if [ "$STATUS" = 422 ] && [ "$got" = "$want" ] &&
	    [ "$(json '[.detail[] | (.msg | type), (.type | type)] | unique | join(",")')" = string ]; then
		pass "$desc: 422 with loc [body, $want]"
	else
		not_ok "$desc: 422 with loc [body, $want]" "got $STATUS: $BODY"
	fi
	unchanged "$desc"
}

A=192.0.2.1
rebase

# ---- 400, 415
api POST /swarm/enroll -H 'Content-Type: application/json' --data-binary 'not json'
is "$STATUS" 400 "a body that is not JSON is 400"
like "$(json .detail)" '^malformed JSON body' "... detail says malformed JSON body"
is_json_ct "... with Content-Type application/json"
unchanged "not JSON"
api POST /swarm/enroll -H 'Content-Type: application/json' --data-binary '{"name":"trunc","address":'
is "$STATUS" 400 "a truncated JSON body is 400"
unchanged "truncated JSON"
api POST /swarm/enroll -H 'Content-Type: application/json' --data-binary '{"name":"x1","address":"192.0.2.1"} {}'
is "$STATUS" 400 "JSON followed by more JSON is 400"
unchanged "trailing garbage"
api POST /swarm/enroll -H 'Content-Type: application/json'
like "$STATUS" '^4[0-9][0-9]$' "an empty body is a 4xx ($STATUS)"
unchanged "empty body"

for ct in text/plain application/x-www-form-urlencoded multipart/form-data application/jsonx; do
	api POST /swarm/enroll -H "Content-Type: $ct" --data-binary "{\"name\":\"ct\",\"address\":\"$A\"}"
	is_detail 415 "Content-Type must be application/json" "Content-Type $ct is 415"
	unchanged "Content-Type $ct"
done
api POST /swarm/enroll -H 'Content-Type:' --data-binary "{\"name\":\"ct\",\"address\":\"$A\"}"
is_detail 415 "Content-Type must be application/json" "a missing Content-Type is 415"
unchanged "no Content-Type"
accepted "Content-Type application/json; charset=utf-8" "{\"name\":\"charset\",\"address\":\"$A\"}" \
    -H 'Content-Type: application/json; charset=utf-8'

# ---- 413: the 64 KiB cap (nginx in front, the responder behind it)
# body_of_size NAME SIZE — a valid enrolment exactly SIZE bytes long,
# padded with an unknown (ignored) field.
body_of_size()
{
	local head="{\"name\":\"$1\",\"address\":\"$A\",\"pad\":\"" tail='"}'
	printf '%s%s%s' "$head" "$(rep x $(($2 - ${#head} - ${#tail})))" "$tail"
}
body_of_size big-ok 65536 >"$T/b65536"
body_of_size big-no 65537 >"$T/b65537"
is "$(stat -c %s "$T/b65536") $(stat -c %s "$T/b65537")" "65536 65537" "test bodies have the intended sizes"
accepted "a 65536-byte body (exactly the cap)" "@$T/b65536"
enroll "@$T/b65537"
is "$STATUS" 413 "a 65537-byte body is 413"
is_json_ct "... with Content-Type application/json"
unchanged "65537-byte body"
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T/b1m"
enroll "@$T/b1m"
is "$STATUS" 413 "a 1 MiB body is 413"
unchanged "1 MiB body"
enroll "@$T/b65537" -H 'Transfer-Encoding: chunked'
is "$STATUS" 413 "a chunked 65537-byte body is 413"
unchanged "chunked 65537-byte body"

# ---- 422, one case per rule
check_422 "name missing" "{\"address\":\"$A\"}" name
check_422 "name empty" "{\"name\":\"\",\"address\":\"$A\"}" name
check_422 "name of 65 characters" "{\"name\":\"$(rep a 65)\",\"address\":\"$A\"}" name
for n in ../evil a/b .hidden -x _x "a b" w\\u00f6rker "a\\u0000b" .. . "a\\\\b" "a:b" "a;b" "a\\nb"; do
	check_422 "name \"$n\"" "{\"name\":\"$n\",\"address\":\"$A\"}" name
done
for v in 123 true null '["a"]' '{}'; do
	check_422 "name $v" "{\"name\":$v,\"address\":\"$A\"}" name
done
check_422 "address missing" '{"name":"addr"}' address
check_422 "address empty" '{"name":"addr","address":""}' address
long_dns="$(rep a 63).$(rep b 63).$(rep c 63).$(rep d 62)"
check_422 "address of 254 characters" "{\"name\":\"addr\",\"address\":\"$long_dns\"}" address
for v in '"bad address!"' '"a/b"' '"http://x"' 123 null '["192.0.2.1"]'; do
	check_422 "address $v" "{\"name\":\"addr\",\"address\":$v}" address
done
for v in 0 65536 -1 '"8765"' 1.5 true '[8765]' null; do
	check_422 "agent_port $v" "{\"name\":\"port\",\"address\":\"$A\",\"agent_port\":$v}" agent_port
done
for v in '"x"' 1 '{}' '[1]' '[null]' '["ok.example", 2]' '["bad san!"]' '[""]' "[\"$long_dns\"]"; do
	check_422 "sans $v" "{\"name\":\"sans\",\"address\":\"$A\",\"sans\":$v}" sans
done
sans65=$(seq 1 65 | sed 's/.*/"h&.example.test"/' | paste -sd,)
check_422 "65 sans" "{\"name\":\"sans\",\"address\":\"$A\",\"sans\":[$sans65]}" sans
check_422 "notes of 4097 bytes" "{\"name\":\"notes\",\"address\":\"$A\",\"notes\":\"$(rep n 4097)\"}" notes
check_422 "notes of 2049 two-byte characters (4098 bytes)" \
    "{\"name\":\"notes\",\"address\":\"$A\",\"notes\":\"$(rep é 2049)\"}" notes
for v in 123 true '["x"]' '{}'; do
	check_422 "notes $v" "{\"name\":\"notes\",\"address\":\"$A\",\"notes\":$v}" notes
done
check_422 "two invalid fields" "{\"name\":\"\",\"address\":\"$A\",\"agent_port\":0}" name agent_port
check_422 "every field invalid" '{"address":"","agent_port":"x","sans":"y","notes":5}' \
    name address agent_port sans notes

for v in '[]' '"string"' 42 null '[{"name":"x","address":"192.0.2.1"}]'; do
	enroll "$v"
	if [ "$STATUS" = 422 ] && [ "$(json '.detail | type')" = array ] && [ "$(json '.detail | length')" -ge 1 ]; then
		pass "a JSON $v body is 422 with a detail list"
	else
		not_ok "a JSON $v body is 422 with a detail list" "got $STATUS: $BODY"
	fi
	unchanged "JSON $v body"
done

# ---- accepted edges
accepted "name of 64 characters" "{\"name\":\"$(rep a 64)\",\"address\":\"$A\"}"
accepted "name with dots, dashes, underscores" "{\"name\":\"Node_1.rack-2\",\"address\":\"$A\"}"
long_ok="$(rep a 63).$(rep b 63).$(rep c 63).$(rep d 61)"
accepted "address of 253 characters" "{\"name\":\"addr253\",\"address\":\"$long_ok\"}"
accepted "IPv6 address" '{"name":"v6","address":"2001:db8::1"}'
json -j .worker_cert_pem >"$T/v6.crt"
like "$(openssl x509 -in "$T/v6.crt" -noout -ext subjectAltName 2>/dev/null)" 'IP Address:2001:DB8:0:0:0:0:0:1' \
    "... and the IPv6 address is an IP SAN"
accepted "agent_port 1" "{\"name\":\"port1\",\"address\":\"$A\",\"agent_port\":1}"
accepted "agent_port 65535" "{\"name\":\"port65535\",\"address\":\"$A\",\"agent_port\":65535}"
sans64=$(seq 1 64 | sed 's/.*/"h&.example.test"/' | paste -sd,)
accepted "64 sans" "{\"name\":\"sans64\",\"address\":\"$A\",\"sans\":[$sans64]}"
accepted "notes of 4096 bytes" "{\"name\":\"notes4096\",\"address\":\"$A\",\"notes\":\"$(rep n 4096)\"}"
accepted "notes of 2048 two-byte characters" "{\"name\":\"notes-utf8\",\"address\":\"$A\",\"notes\":\"$(rep é 2048)\"}"
accepted "notes null" "{\"name\":\"notes-null\",\"address\":\"$A\",\"notes\":null}"
accepted "unknown fields" "{\"name\":\"extra\",\"address\":\"$A\",\"colour\":\"blue\",\"status\":\"x\",\"uuid\":\"y\"}"
api GET "/swarm/hosts/$(jq -r .host_uuid "$T/body")"
is "$(json -c '[.status, .name]')" '["enrolled","extra"]' "... and they do not override anything"

enroll "{\"name\":\"defaults\",\"address\":\"$A\"}"
is "$STATUS" 201 "name and address alone: 201"
is "$(json .agent_port)" 8765 "... agent_port defaults to 8765"
json -j .worker_cert_pem >"$T/defaults.crt"
is "$(openssl x509 -in "$T/defaults.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ' | tr ',' '\n' | LC_ALL=C sort | paste -sd,)" \
    "DNS:defaults,IPAddress:$A" "... sans default to [] (SAN is address and name only)"
api GET "/swarm/hosts/$(jq -r .host_uuid <<<"$BODY")"
is "$(json -c '[.agent_port, .notes]')" '[8765,null]' "... the stored host has agent_port 8765 and notes null"
rebase

# ---- query validation
api GET '/swarm/hosts?host_status='
if [ "$STATUS" = 422 ] && [ "$(json -c '[.detail[].loc]')" = '[["query","host_status"]]' ]; then
	pass "an empty host_status is 422 with loc [query, host_status]"
else
	not_ok "an empty host_status is 422 with loc [query, host_status]" "got $STATUS: $BODY"
fi
api GET '/swarm/hosts?host_status=%zz'
like "$STATUS" '^4[0-9][0-9]$' "a bad percent-escape in the query is a 4xx ($STATUS)"
api GET '/swarm/hosts?host_status=enrolle%64'
is "$(json 'length')" "$(host_count)" "a percent-encoded host_status is decoded ('enrolle%64' lists the enrolled hosts)"
api GET /health
is "$STATUS" 200 "the service still serves after the bad requests"
unchanged "query validation"

# ---- Unicode edges: U+FFFD itself (as UTF-8 and as an escape) and a
# surrogate pair are characters like any other and are stored as sent;
# only escapes of unpaired surrogates are refused (hostile.sh).
accepted "notes with U+FFFD as UTF-8, as \\ufffd and a surrogate pair" \
    "{\"name\":\"fffd-ok\",\"address\":\"$A\",\"notes\":\"$(printf '\xef\xbf\xbd') \\ufffd \\ud83d\\ude00\"}"
UUID_FFFD=$(json -r .host_uuid)
api GET "/swarm/hosts/$UUID_FFFD"
is "$(json -j .notes | od -An -tx1 | tr -d ' \n')" "efbfbd20efbfbd20f09f9880" \
    "... the notes read back as U+FFFD, U+FFFD and U+1F600"
check_422 "notes with \\ud800 alone" \
    "{\"name\":\"lone-hi\",\"address\":\"$A\",\"notes\":\"x\\ud800\"}" notes
check_422 "notes with \\udc00 alone" \
    "{\"name\":\"lone-lo\",\"address\":\"$A\",\"notes\":\"\\udc00x\"}" notes
check_422 "a high surrogate escape before a non-surrogate" \
    "{\"name\":\"lone-hi2\",\"address\":\"$A\",\"notes\":\"\\ud800\\u0041\"}" notes

# ---- the responder's own cap (--max-body), behind nginx's larger one
swarmctl_stop
swarmctl_start --max-body 1024 || bail "swarmctl did not restart with --max-body 1024"
body_of_size cap-ok 1024 >"$T/b1024"
body_of_size cap-no 2000 >"$T/b2000"
enroll "@$T/b2000"
is "$STATUS" 413 "with --max-body 1024 a 2000-byte body is 413 from the responder"
like "$(json .detail)" '1024' "... and the detail names the 1024-byte limit"
is_json_ct "... with Content-Type application/json"
unchanged "2000-byte body over --max-body"
accepted "with --max-body 1024 a 1024-byte body" "@$T/b1024"
ok "swarmctl is still running" pid_alive "$SWARMCTL_PID"

done_testing
