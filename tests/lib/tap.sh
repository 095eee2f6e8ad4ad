# shellcheck shell=bash
#
# Plan-less TAP producer for the shell integration tests.  automake's
# tap-driver.sh counts every `ok`/`not ok` line as one result and accepts
# the plan (`1..N`) at the end, which done_testing prints.
#
#   ok DESC CMD [ARG...]      pass when CMD exits 0
#   fails DESC CMD [ARG...]   pass when CMD exits non-zero
#   pass DESC / not_ok DESC [DIAG...]   record a result unconditionally
#   is GOT WANT DESC / isnt GOT UNWANTED DESC
#   like GOT ERE DESC / unlike GOT ERE DESC   (bash [[ =~ ]] regexes)
#   diag MSG...               a "# " comment (TAP diagnostics)
#   bail MSG                  "Bail out!" and exit 1
#   done_testing              print the plan, exit 1 if anything failed
#
# Every helper returns 0 on pass and 1 on failure, so a test can react:
#   is "$STATUS" 201 "enrolled" || diag "$(cat "$T/body")"

TAP_COUNT=0
TAP_FAILED=0

# diag MSG... — each line of MSG becomes a TAP comment line.
diag()
{
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

# The descriptions are printed on one line; a "#" followed by SKIP or TODO
# would be read as a TAP directive, so escape "#" in those.
_tap_desc()
{
	local d=${1//$'\n'/ }
	if [[ ${d^^} =~ \#[[:space:]]*(SKIP|TODO) ]]; then
		d=${d//#/\\#}
	fi
	printf '%s' "$d"
}

pass()
{
	TAP_COUNT=$((TAP_COUNT + 1))
	printf 'ok %d - %s\n' "$TAP_COUNT" "$(_tap_desc "$1")"
	return 0
}

not_ok()
{
	local desc=$1
	shift
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_COUNT" "$(_tap_desc "$desc")"
	if [ $# -gt 0 ]; then
		diag "$*"
	fi
	return 1
}

ok()
{
	local desc=$1
	shift
	# The command's output goes to stderr (the test log), never into
	# the TAP stream.
	if "$@" >&2; then
		pass "$desc"
	else
		not_ok "$desc" "command failed: $*"
	fi
}

fails()
{
	local desc=$1
	shift
	if "$@" >&2; then
		not_ok "$desc" "command unexpectedly succeeded: $*"
	else
		pass "$desc"
	fi
}

is()
{
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		not_ok "$3" "   got: '$1'
  want: '$2'"
	fi
}

isnt()
{
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		not_ok "$3" "   got: '$1' (unwanted)"
	fi
}

like()
{
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		not_ok "$3" "   got: '$1'
  want match for: $2"
	fi
}

unlike()
{
	if [[ $1 =~ $2 ]]; then
		not_ok "$3" "   got: '$1'
  must not match: $2"
	else
		pass "$3"
	fi
}

bail()
{
	printf 'Bail out! %s\n' "$(_tap_desc "$*")"
	exit 1
}

# A test that ran nothing has proved nothing: report that as a failure
# rather than as automake's "1..0" (which counts as SKIP).
done_testing()
{
	if [ "$TAP_COUNT" -eq 0 ]; then
		not_ok "the test ran at least one assertion"
	fi
	printf '1..%d\n' "$TAP_COUNT"
	if [ "$TAP_FAILED" -ne 0 ]; then
		diag "failed $TAP_FAILED of $TAP_COUNT"
		exit 1
	fi
	exit 0
}
