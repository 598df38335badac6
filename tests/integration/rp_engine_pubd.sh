#!/bin/bash
#
# The whole pipeline: cairnd (CA keys in SoftHSM2) signs the repository of
# rp_repo.txt and writes its publication intents into the outbox; cairn-pubd,
# on the same embedded PostgreSQL, turns them into RRDP serials (HTTPS, test
# CA) and rsync trees.  rpki-client and FORT, each with a fresh cache, must
# report exactly the VRPs that mkrepo derives from the same description and
# no complaint, over RRDP only and over rsync only.  Then a ROA is added
# through cairnd: cairn-pubd publishes serial 2 with a delta, which
# rpki-client applies on its warm cache.  (ASPAs are left out: rpki-client
# 8.2 cannot read profile version 1, see rp_positive.sh.)
#
#   rp_engine_pubd.sh path/to/cairnd path/to/mkrepo path/to/cairn-pubd
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
. "$here/pubd_lib.sh"
CAIRND=${1:?usage: $0 cairnd mkrepo cairn-pubd}
MKREPO=${2:?usage: $0 cairnd mkrepo cairn-pubd}
PUBD=${3:?usage: $0 cairnd mkrepo cairn-pubd}
PUBD_PID=
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

rp_https_stop() {
	if [ -n "$PUBD_PID" ]; then
		kill "$PUBD_PID" 2>/dev/null
		wait "$PUBD_PID" 2>/dev/null
		PUBD_PID=
	fi
}

for prog in rsync "$RP_RPKI_CLIENT" "$RP_FORT" jq openssl curl softhsm2-util; do
	command -v "$prog" >/dev/null ||
	    { echo "FAIL: $prog is not installed" >&2; exit 1; }
done
rp_init || exit 1
W=$RP_WORK
pubd_port RPORT && pubd_port HP && [ "$RPORT" != "$HP" ] ||
    { echo "FAIL: no free ports" >&2; exit 1; }
base=rsync://127.0.0.1:$RPORT/repo/
HTTPS=https://127.0.0.1:$HP/
pubd_tls "$W/tls" || { echo "FAIL: test CA" >&2; exit 1; }
RP_HTTPS_CA=$W/tls/ca.pem

# Both daemons use the embedded cluster of one data directory.
rp_cairnd_setup "$W" "$base" "notify-uri = ${HTTPS}rrdp/notification.xml" ||
    exit 1
mkdir -p "$W/static"
cat >"$W/pubd.conf" <<CONF
data-dir = $W/data
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
cairnd() { "$CAIRND" -c "$W/cairnd.conf" "$@"; }

sed '/^aspa/d' "$here/rp_repo.txt" >"$W/desc1"
# cairnd apply is additive: the change adds a ROA (AS64496 re-issued).
{ cat "$W/desc1"; echo 'roa  m1   64496  10.1.64.0/18'; } >"$W/desc2"
cmp -s "$W/desc1" "$W/desc2" && { echo "FAIL: desc2 = desc1" >&2; exit 1; }
for d in 1 2; do
	"$MKREPO" -b "$base" -o "$W/mk$d" -t "$W/mk$d.tal" "$W/desc$d" \
	    >"$W/expected$d" && [ -s "$W/expected$d" ] ||
	    { echo "FAIL: mkrepo $d" >&2; exit 1; }
done

cairnd apply "$W/desc1" >"$W/apply1.log" 2>&1 ||
    { cat "$W/apply1.log" >&2; echo "FAIL: cairnd apply" >&2; exit 1; }
cairnd tal ta >"$W/ta.tal" 2>"$W/tal.log" || { echo "FAIL: tal" >&2; exit 1; }
# The TA certificate over HTTPS for the RRDP-only TAL (cairnd's own export
# is used only to get its bytes).
cairnd export "$W/export" >"$W/export.log" 2>&1 ||
    { cat "$W/export.log" >&2; echo "FAIL: cairnd export" >&2; exit 1; }
ta=$(find "$W/export/current/" -name ta.cer | head -1)
[ -n "$ta" ] || { echo "FAIL: no ta.cer in the export" >&2; exit 1; }
cp "$ta" "$W/static/ta.cer"
rp_tal_write "$W/ta-rrdp.tal" "$W/static/ta.cer" "${HTTPS}ta.cer" || exit 1
chmod 644 "$W/ta.tal"

pubd_rsync_root "$W/pubrsync" || exit 1
rp_rsyncd_start "$W/pubrsync/current" "$RPORT" || exit 1
"$PUBD" -c "$W/pubd.conf" >"$W/pubd.log" 2>&1 &
PUBD_PID=$!
wait_serial() {
	pubd_wait_serial "$W/pubd.log" "${HTTPS}rrdp/notification.xml" \
	    "$RP_HTTPS_CA" "$1" "$PUBD_PID"
}
wait_serial 1

check() {	# outdir expected label
	echo "--- $3: rc $(cat "$1/rc"), $(wc -l <"$1/vrps") VRPs"
	sed 's/^/    /' "$1/complaints"
	rp_expect_vrps "$1" "$2" || fail "$3: VRPs"
	rp_expect_clean "$1" || fail "$3: complaints"
}
for v in rpki-client fort; do
	rp_validate "$v" rrdp "$W/ta-rrdp.tal" "$W/out/$v-rrdp" || exit 1
	check "$W/out/$v-rrdp" "$W/expected1" "$v over rrdp"
	rp_validate "$v" rsync "$W/ta.tal" "$W/out/$v-rsync" || exit 1
	check "$W/out/$v-rsync" "$W/expected1" "$v over rsync"
done

# A change through the CA engine: serial 2 with a delta.
cairnd apply "$W/desc2" >"$W/apply2.log" 2>&1 ||
    { cat "$W/apply2.log" >&2; fail "cairnd apply (change)"; }
grep -q 'AS64496 10.1.64.0/18 18' "$W/expected2" ||
    fail "mkrepo does not expect the new VRP"
cmp -s "$W/expected1" "$W/expected2" && fail "the change changes no VRP"
wait_serial 2
curl -s --cacert "$RP_HTTPS_CA" "${HTTPS}rrdp/notification.xml" |
    grep -q '<delta serial="2"' || fail "delta 2 is not listed"
o=$W/out/rpki-client-rrdp
: >"$o/complaints"
: >"$o/vrps"
mark=$(wc -l <"$W/pubd.log")
rp_run_rpki_client rrdp "$W/ta-rrdp.tal" "$o" || exit 1
check "$o" "$W/expected2" "rpki-client over rrdp, warm cache, serial 2"
tail -n +"$mark" "$W/pubd.log" |
    grep -q '"GET /rrdp/[0-9a-f-]*/2/[0-9a-f]*/delta.xml' ||
    fail "rpki-client did not fetch delta 2"
tail -n +"$mark" "$W/pubd.log" | grep -q '/snapshot.xml' &&
    fail "rpki-client fetched a snapshot despite delta 2"
rp_validate fort rrdp "$W/ta-rrdp.tal" "$W/out/fort-rrdp2" || exit 1
check "$W/out/fort-rrdp2" "$W/expected2" "fort over rrdp, serial 2"

# A make-before-break transfer through RRDP: 192.0.2.0/24 moves from m2 to
# m1 with its ROA configuration (AS64501).  It is one transaction, so it
# must be one serial whose delta both publishes m1's new ROA and replaces
# m2's: no relying party can see the prefix without its ROA in between.
serial_now() {
	curl -s --cacert "$RP_HTTPS_CA" "${HTTPS}rrdp/notification.xml" |
	    sed -n 's/.* serial="\([0-9]*\)">$/\1/p'
}
cairnd transfer m2 m1 v4=192.0.2.0/24 >"$W/transfer.log" 2>&1 ||
    { cat "$W/transfer.log" >&2; fail "cairnd transfer"; }
wait_serial 3
sleep 3
[ "$(serial_now)" = 3 ] || fail "the transfer took more than one serial"
d3=$(curl -s --cacert "$RP_HTTPS_CA" "${HTTPS}rrdp/notification.xml" |
    sed -n 's/.*<delta serial="3" uri="\([^"]*\)".*/\1/p')
[ -n "$d3" ] || fail "delta 3 is not listed"
curl -s --cacert "$RP_HTTPS_CA" "$d3" >"$W/delta3.xml"
grep -q "uri=\"${base}m1/[0-9a-f]*\.roa\"" "$W/delta3.xml" ||
    fail "delta 3 has no ROA for m1"
grep -q "uri=\"${base}m2/[0-9a-f]*\.roa\"" "$W/delta3.xml" ||
    fail "delta 3 does not change m2's ROA"
for v in rpki-client fort; do
	rp_validate "$v" rrdp "$W/ta-rrdp.tal" "$W/out/$v-transfer" || exit 1
	check "$W/out/$v-transfer" "$W/expected2" "$v over rrdp after the transfer"
done

# Key rolls of every hosted CA, validated over RRDP after each step.
settle() {	# waits until the serial moved past $1 and stays put for 3 s
	local last=$1 n same=0
	for _ in $(seq 240); do
		n=$(serial_now)
		if [ -n "$n" ] && [ "$n" -gt "$1" ] && [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 6 ] && return 0
		else
			same=0
		fi
		last=$n
		sleep 0.5
	done
	fail "no new serial after $1"
}
for step in start activate-now finish; do
	before=$(serial_now)
	cairnd keyroll-all "$step" >"$W/roll-$step.log" 2>&1 ||
	    { cat "$W/roll-$step.log" >&2; fail "keyroll-all $step"; }
	settle "$before"
	for v in rpki-client fort; do
		rp_validate "$v" rrdp "$W/ta-rrdp.tal" "$W/out/$v-roll-$step" || exit 1
		check "$W/out/$v-roll-$step" "$W/expected2" \
		    "$v over rrdp after keyroll $step (serial $(serial_now))"
	done
done

[ "$failed" = 0 ] && echo PASS
exit "$failed"
