# shellcheck shell=bash
#
# Shared part of the relying-party tests that run cairnd, and cairn-pubd on
# its embedded cluster (rp_engine.sh, rp_engine_pubd.sh, rp_engine_steps.sh,
# rp_offline_ta.sh, rp_takroll.sh).  Sourced after tests/rp/rp.sh; a test
# sets CAIRND (and PUBD) before it calls these.

. "$(dirname "${BASH_SOURCE[0]}")/pubd_lib.sh"

failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

CAIRND_PID=
PUBD_PID=
# Replaces rp.sh's (rp_cleanup calls it): stops `cairnd run` and
# cairn-pubd when the test started them.
rp_https_stop() {
	local p
	for p in "$CAIRND_PID" "$PUBD_PID"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CAIRND_PID=
	PUBD_PID=
}

# rpc_show_logs RC FILE...: after a failure (RC or $failed not 0), the last
# lines of each FILE to stderr (cairn-pubd's GET lines left out): the work
# directory goes away.
rpc_show_logs() {
	local f
	[ "$failed" = 0 ] && [ "${1:-0}" = 0 ] && return
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		grep -v '\] "GET ' "$f" | tail -n 40 >&2
	done
}

# rpc_rsync_init: for the tests that export cairnd's repository as an
# rsync tree (no cairn-pubd): rp_init, the logs of the run shown on a
# failure, a free port $port for rsyncd with the rsync base $base on it,
# and cairnd's token, PIN, data directory and configuration in $RP_WORK.
# Exits the test on failure.
rpc_rsync_init() {
	rp_init || exit 1
	trap 'rc=$?; rpc_show_logs $rc "$RP_WORK"/*.log \
	    "$RP_WORK"/data/pg/*.log; rp_cleanup' EXIT
	port=$(rp_free_port) || exit 1
	base=rsync://127.0.0.1:$port/repo/
	rp_cairnd_setup "$RP_WORK" "$base" || exit 1
}

# rpc_init [api]: what the tests with cairn-pubd need: the programs;
# rp_init, W=$RP_WORK; free ports RPORT (rsyncd) and HP (cairn-pubd's
# HTTPS), with "api" also AP (cairnd's API at $API), all different; the
# rsync base $base, $HTTPS, $NOTIFY; a test CA in $W/tls ($RP_HTTPS_CA).
# Exits the test on failure.
rpc_init() {
	local prog
	for prog in rsync "$RP_RPKI_CLIENT" "$RP_FORT" jq openssl curl \
	    softhsm2-util; do
		command -v "$prog" >/dev/null ||
		    { echo "FAIL: $prog is not installed" >&2; exit 1; }
	done
	rp_init || exit 1
	W=$RP_WORK
	pubd_port RPORT && pubd_port HP && [ "$RPORT" != "$HP" ] ||
	    { echo "FAIL: no free ports" >&2; exit 1; }
	if [ "${1:-}" = api ]; then
		pubd_port AP && [ "$AP" != "$HP" ] && [ "$AP" != "$RPORT" ] ||
		    { echo "FAIL: no free ports" >&2; exit 1; }
		API=http://127.0.0.1:$AP/api/v1
	fi
	base=rsync://127.0.0.1:$RPORT/repo/
	HTTPS=https://127.0.0.1:$HP/
	NOTIFY=${HTTPS}rrdp/notification.xml
	pubd_tls "$W/tls" || { echo "FAIL: test CA" >&2; exit 1; }
	RP_HTTPS_CA=$W/tls/ca.pem
}

# rpc_pubd_conf DATA-DIR: $W/pubd.conf for cairn-pubd on the cluster in
# DATA-DIR: RRDP below ${HTTPS}rrdp/ every second, HTTPS on port $HP with
# the test certificate and the files of $W/static, rsync trees for $base
# in $W/pubrsync (an empty one until its first).  Exits the test on
# failure.
rpc_pubd_conf() {
	mkdir -p "$W/static"
	cat >"$W/pubd.conf" <<CONF
data-dir = $1
[rrdp]
base-uri = ${HTTPS}rrdp/
interval = 1s
[http]
listen = 127.0.0.1
port = $HP
tls-cert = $W/tls/srv.pem
tls-key = $W/tls/srv.key
static-dir = $W/static
[rsync]
base-uri = $base
dir = $W/pubrsync
CONF
	pubd_rsync_root "$W/pubrsync" || exit 1
}

# rpc_pubd_start: cairn-pubd with $W/pubd.conf in the background, logging
# to $W/pubd.log; its pid in PUBD_PID.
rpc_pubd_start() {
	"$PUBD" -c "$W/pubd.conf" >>"$W/pubd.log" 2>&1 &
	PUBD_PID=$!
}

# rpc_rrdp_tal CONF TAL: exports the repository of the cairnd of CONF into
# $W/export and writes TAL for RRDP only: its certificate, the ta.cer of
# the export, is served by cairn-pubd at ${HTTPS}ta.cer from $W/static.
# Exits the test on failure.
rpc_rrdp_tal() {
	local ta
	"$CAIRND" -c "$1" export "$W/export" >"$W/export.log" 2>&1 ||
	    { cat "$W/export.log" >&2; echo "FAIL: cairnd export" >&2; exit 1; }
	ta=$(find "$W/export/current/" -name ta.cer | head -1)
	[ -n "$ta" ] || { echo "FAIL: no ta.cer in the export" >&2; exit 1; }
	cp "$ta" "$W/static/ta.cer"
	rp_tal_write "$2" "$W/static/ta.cer" "${HTTPS}ta.cer" || exit 1
}

# The RRDP serial cairn-pubd's notification names now.
rpc_serial() {
	curl -s --cacert "$RP_HTTPS_CA" "$NOTIFY" |
	    sed -n 's/.* serial="\([0-9]*\)">$/\1/p'
}

# rpc_wait_serial SERIAL: until cairn-pubd published SERIAL over RRDP and
# rsync; exits the test otherwise.
rpc_wait_serial() {
	pubd_wait_serial "$W/pubd.log" "$NOTIFY" "$RP_HTTPS_CA" "$1" "$PUBD_PID"
}

# rpc_settle SERIAL: until the serial is past SERIAL and stays put for 3 s;
# fails the test (returns 1) when it does not move within 2 minutes.
rpc_settle() {
	local last=$1 s same=0
	for _ in $(seq 240); do
		s=$(rpc_serial)
		if [ -n "$s" ] && [ "$s" -gt "$1" ] && [ "$s" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 6 ] && return 0
		else
			same=0
		fi
		last=$s
		sleep 0.5
	done
	fail "no new serial after $1"
	return 1
}

# rpc_check OUT EXPECTED LABEL: prints what the validator run in OUT found
# and fails the test unless its VRPs are exactly EXPECTED and it did not
# complain.
rpc_check() {
	echo "--- $3: rc $(cat "$1/rc"), $(wc -l <"$1/vrps") VRPs"
	sed 's/^/    /' "$1/complaints"
	rp_expect_vrps "$1" "$2" || fail "$3: VRPs"
	rp_expect_clean "$1" || fail "$3: complaints"
}

# rpc_validate VALIDATOR TRANSPORT TAL OUT EXPECTED LABEL: one validator
# run (exits the test when it cannot run), checked with rpc_check.
rpc_validate() {
	rp_validate "$1" "$2" "$3" "$4" || exit 1
	rpc_check "$4" "$5" "$6"
}
