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
. "$here/rp_cairn_lib.sh"
CAIRND=${1:?usage: $0 cairnd mkrepo cairn-pubd}
MKREPO=${2:?usage: $0 cairnd mkrepo cairn-pubd}
PUBD=${3:?usage: $0 cairnd mkrepo cairn-pubd}

rpc_init

# Both daemons use the embedded cluster of one data directory.
rp_cairnd_setup "$W" "$base" "notify-uri = $NOTIFY" || exit 1
rpc_pubd_conf "$W/data"
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
rpc_rrdp_tal "$W/cairnd.conf" "$W/ta-rrdp.tal"
chmod 644 "$W/ta.tal"

rp_rsyncd_start "$W/pubrsync/current" "$RPORT" || exit 1
rpc_pubd_start
rpc_wait_serial 1

for v in rpki-client fort; do
	rpc_validate "$v" rrdp "$W/ta-rrdp.tal" "$W/out/$v-rrdp" \
	    "$W/expected1" "$v over rrdp"
	rpc_validate "$v" rsync "$W/ta.tal" "$W/out/$v-rsync" "$W/expected1" \
	    "$v over rsync"
done

# A change through the CA engine: serial 2 with a delta.
cairnd apply "$W/desc2" >"$W/apply2.log" 2>&1 ||
    { cat "$W/apply2.log" >&2; fail "cairnd apply (change)"; }
grep -q 'AS64496 10.1.64.0/18 18' "$W/expected2" ||
    fail "mkrepo does not expect the new VRP"
cmp -s "$W/expected1" "$W/expected2" && fail "the change changes no VRP"
rpc_wait_serial 2
curl -s --cacert "$RP_HTTPS_CA" "$NOTIFY" |
    grep -q '<delta serial="2"' || fail "delta 2 is not listed"
o=$W/out/rpki-client-rrdp
: >"$o/complaints"
: >"$o/vrps"
mark=$(wc -l <"$W/pubd.log")
rp_run_rpki_client rrdp "$W/ta-rrdp.tal" "$o" || exit 1
rpc_check "$o" "$W/expected2" "rpki-client over rrdp, warm cache, serial 2"
tail -n +"$mark" "$W/pubd.log" |
    grep -q '"GET /rrdp/[0-9a-f-]*/2/[0-9a-f]*/delta.xml' ||
    fail "rpki-client did not fetch delta 2"
tail -n +"$mark" "$W/pubd.log" | grep -q '/snapshot.xml' &&
    fail "rpki-client fetched a snapshot despite delta 2"
rpc_validate fort rrdp "$W/ta-rrdp.tal" "$W/out/fort-rrdp2" "$W/expected2" \
    "fort over rrdp, serial 2"

# A make-before-break transfer through RRDP: 192.0.2.0/24 moves from m2 to
# m1 with its ROA configuration (AS64501).  It is one transaction, so it
# must be one serial whose delta both publishes m1's new ROA and replaces
# m2's: no relying party can see the prefix without its ROA in between.
cairnd transfer m2 m1 v4=192.0.2.0/24 >"$W/transfer.log" 2>&1 ||
    { cat "$W/transfer.log" >&2; fail "cairnd transfer"; }
rpc_wait_serial 3
sleep 3
[ "$(rpc_serial)" = 3 ] || fail "the transfer took more than one serial"
d3=$(curl -s --cacert "$RP_HTTPS_CA" "$NOTIFY" |
    sed -n 's/.*<delta serial="3" uri="\([^"]*\)".*/\1/p')
[ -n "$d3" ] || fail "delta 3 is not listed"
curl -s --cacert "$RP_HTTPS_CA" "$d3" >"$W/delta3.xml"
grep -q "uri=\"${base}m1/[0-9a-f]*\.roa\"" "$W/delta3.xml" ||
    fail "delta 3 has no ROA for m1"
grep -q "uri=\"${base}m2/[0-9a-f]*\.roa\"" "$W/delta3.xml" ||
    fail "delta 3 does not change m2's ROA"
for v in rpki-client fort; do
	rpc_validate "$v" rrdp "$W/ta-rrdp.tal" "$W/out/$v-transfer" \
	    "$W/expected2" "$v over rrdp after the transfer"
done

# Key rolls of every hosted CA, validated over RRDP after each step.
for step in start activate-now finish; do
	before=$(rpc_serial)
	cairnd keyroll-all "$step" >"$W/roll-$step.log" 2>&1 ||
	    { cat "$W/roll-$step.log" >&2; fail "keyroll-all $step"; }
	rpc_settle "$before"
	for v in rpki-client fort; do
		rpc_validate "$v" rrdp "$W/ta-rrdp.tal" "$W/out/$v-roll-$step" \
		    "$W/expected2" \
		    "$v over rrdp after keyroll $step (serial $(rpc_serial))"
	done
done

[ "$failed" = 0 ] && echo PASS
exit "$failed"
