# shellcheck shell=bash
#
# Shared part of the relying-party integration tests (label "rp").  A test
# script sources this file with the mkrepo binary as its first argument:
#
#   . "$(dirname "$0")/rp_lib.sh" "$@"
#   rpt_repo full "$(rpt_desc)"         # built and served; TAL + expected VRPs
#   rpt_run full                        # both validators, rsync only
#   rpt_vrps rpki-client full "$EXPECT"
#
# Results of a run are in $RP_WORK/out/<name>/<validator>-rsync/ (see
# tests/rp/rp.sh).  RP_KEEP=1 keeps the work directory for inspection.

set -u
RPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$RPT_DIR/../rp/rp.sh"

MKREPO=${1:?usage: $0 path/to/mkrepo}
RPT_FAILED=0

rpt_fail() {
	echo "FAIL: $*" >&2
	RPT_FAILED=1
}

# Ends the test: exit 0 only when no check failed.
rpt_done() {
	if [ "$RPT_FAILED" = 0 ]; then
		echo "PASS"
		exit 0
	fi
	exit 1
}

rpt_setup() {
	for prog in rsync "$RP_RPKI_CLIENT" "$RP_FORT" jq openssl; do
		command -v "$prog" >/dev/null ||
		    { echo "FAIL: $prog is not installed" \
		    "(deploy/install-deps.sh test)" >&2; exit 1; }
	done
	rp_init || exit 1
	rp_rsyncd_start || exit 1
}

# The base description, with sed expressions applied: rpt_desc 's/x/y/' ...
rpt_desc() {
	local args=() e
	for e in "$@"; do
		args+=(-e "$e")
	done
	if [ ${#args[@]} = 0 ]; then
		cat "$RPT_DIR/rp_repo.txt"
	else
		sed "${args[@]}" "$RPT_DIR/rp_repo.txt"
	fi
}

# rpt_repo NAME DESCRIPTION-TEXT: builds repository NAME under the served
# module (base URI ${RP_RSYNC_BASE}NAME/), its TAL $RP_WORK/NAME.tal and
# mkrepo's expected VRPs $RP_WORK/NAME.expected.
rpt_repo() {
	local name=$1 desc=$RP_WORK/$1.desc
	printf '%s\n' "$2" >"$desc"
	if ! "$MKREPO" -b "${RP_RSYNC_BASE}$name/" -o "$RP_REPO/$name" \
	    -t "$RP_WORK/$name.tal" "$desc" >"$RP_WORK/$name.expected"; then
		echo "FAIL: mkrepo could not build $name" >&2
		exit 1
	fi
	# The daemon runs as nobody when started as root.
	chmod -R a+rX "$RP_REPO"
}

# rpt_run NAME [TAL]: both validators over rsync, each with a fresh cache.
rpt_run() {
	local name=$1 tal=${2:-$RP_WORK/$1.tal}
	rp_validate_all "$tal" "$RP_WORK/out/$name" rsync || exit 1
}

rpt_out() { echo "$RP_WORK/out/$2/$1-rsync"; }

# rpt_vrps VALIDATOR NAME EXPECTED-LINES: the VRPs must be exactly these.
rpt_vrps() {
	local out exp
	out=$(rpt_out "$1" "$2")
	exp=$RP_WORK/$2.$1.want
	printf '%s' "$3" | sed '/^$/d' | LC_ALL=C sort >"$exp"
	rp_expect_vrps "$out" "$exp" || rpt_fail "$1: VRPs of $2"
}

# rpt_mkrepo_vrps NAME EXPECTED-LINES: mkrepo's own expectation must agree.
rpt_mkrepo_vrps() {
	if ! diff -u <(printf '%s' "$2" | sed '/^$/d' | LC_ALL=C sort) \
	    "$RP_WORK/$1.expected" >&2; then
		rpt_fail "mkrepo's expected VRPs for $1"
	fi
}

# rpt_clean VALIDATOR NAME: no complaint at all.
rpt_clean() {
	rp_expect_clean "$(rpt_out "$1" "$2")" || rpt_fail "$1: complaints on $2"
}

# rpt_complaint VALIDATOR NAME REGEX: at least one complaint matches.
rpt_complaint() {
	rp_expect_complaint "$(rpt_out "$1" "$2")" "$3" ||
	    rpt_fail "$1: expected complaint /$3/ on $2"
}

# rpt_show NAME: prints what each validator said (for the ctest log).
rpt_show() {
	local v out
	for v in rpki-client fort; do
		out=$(rpt_out "$v" "$1")
		echo "--- $v on $1: rc $(cat "$out/rc" 2>/dev/null)," \
		    "$(wc -l <"$out/vrps") VRPs, complaints:"
		sed 's/^/    /' "$out/complaints"
	done
}

# rpt_only VALIDATOR NAME REGEX: every complaint matches REGEX (or is an
# rpki-client counter or OpenSSL trace line), so nothing but the broken part
# drew a complaint.
rpt_only() {
	local out
	out=$(rpt_out "$1" "$2")
	if grep -v -E -- "$3" "$out/complaints" |
	    grep -v -E '^rpki-client: (counter |rpki-client:  \.\.\.trace: )' |
	    grep -q .; then
		rpt_fail "$1: complaints on $2 about something else than /$3/"
	fi
}
