#!/bin/bash
#
# Trust anchor key roll (RFC 9691) as relying parties see it: cairnd (embedded
# PostgreSQL, SoftHSM2) builds TA -> RIR -> two members with ROAs, starts the
# trust anchor's key roll and exports the repository; rpki-client 8.2 and
# FORT 1.5.4 (rsync only, fresh caches) must find the same VRPs with the old
# TAL and with the new TAL (cairnd tal ta --next), and nothing to complain
# about.  An early finish is refused (acceptance period); after finish
# --force both validators find the same VRPs with the new TAL, and the old
# TAL leads nowhere (its certificate is withdrawn).
#
# FORT 1.5.4 does not know the .tak extension.  The test records what it
# says about our .tak files, at log level warning and in one more run at
# debug, in $RP_WORK/fort-tak.txt and prints it (nothing at all when this
# was written: FORT skips files it does not know without a word); a line
# above debug/info naming a .tak file fails the test.
#
#   rp_takroll.sh path/to/cairnd
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
. "$here/rp_cairn_lib.sh"
CAIRND=${1:?usage: $0 cairnd}

rpc_rsync_init
cairnd() { "$CAIRND" -c "$RP_WORK/cairnd.conf" "$@"; }

cat >"$RP_WORK/repo.txt" <<'EOF'
ta   ta                       as=1-4294967295 v4=0.0.0.0/0 v6=::/0
ca   rir  ta                  as=64496-64511 v4=10.0.0.0/8,192.0.2.0/24 v6=2001:db8::/32
ca   m1   rir                 as=64496 v4=10.1.0.0/16 v6=2001:db8:1::/48
ca   m2   rir                 as=64500-64501 v4=10.2.0.0/16,192.0.2.0/24 v6=2001:db8:2::/48
roa  m1   64496  10.1.0.0/16-24 2001:db8:1::/48
roa  m2   64500  10.2.0.0/16-20
roa  m2   64501  192.0.2.0/24 2001:db8:2::/48-64
EOF
cat >"$RP_WORK/expected" <<'EOF'
AS64496 10.1.0.0/16 24
AS64496 2001:db8:1::/48 48
AS64500 10.2.0.0/16 20
AS64501 192.0.2.0/24 24
AS64501 2001:db8:2::/48 64
EOF

cairnd apply "$RP_WORK/repo.txt" >"$RP_WORK/apply.log" 2>&1 ||
    { cat "$RP_WORK/apply.log" >&2; fail "cairnd apply"; }
cairnd tal ta >"$RP_WORK/old.tal" 2>"$RP_WORK/tal.log" || fail "cairnd tal"
cairnd tal ta --next >"$RP_WORK/none.tal" 2>>"$RP_WORK/tal.log" &&
    fail "cairnd tal --next succeeded without a key roll"
cairnd ta-keyroll ta start >"$RP_WORK/roll.log" 2>&1 ||
    { cat "$RP_WORK/roll.log" >&2; fail "ta-keyroll start"; }
cairnd ta-keyroll ta start >>"$RP_WORK/roll.log" 2>&1 &&
    fail "a second ta-keyroll start succeeded"
cairnd tal ta --next >"$RP_WORK/new.tal" 2>>"$RP_WORK/tal.log" ||
    fail "cairnd tal --next"
cmp -s "$RP_WORK/old.tal" "$RP_WORK/new.tal" && fail "the new TAL is the old one"
cairnd ta-keyroll ta finish >"$RP_WORK/finish.log" 2>&1 &&
    fail "ta-keyroll finish succeeded within the acceptance period"
grep -q 'acceptance period' "$RP_WORK/finish.log" ||
    fail "early finish: $(cat "$RP_WORK/finish.log")"
cairnd export "$RP_WORK/tree" >"$RP_WORK/export.log" 2>&1 ||
    { cat "$RP_WORK/export.log" >&2; fail "cairnd export"; }
chmod -R a+rX "$RP_WORK/tree" "$RP_WORK"/*.tal
[ "$failed" = 0 ] || exit 1
ntak=$(find "$RP_WORK/tree/current/" -name '*.tak' | wc -l)
[ "$ntak" = 2 ] || fail "$ntak .tak files in the repository during the roll, not 2"

# rpki-client's counters: the repository of one TAL holds 4 CA
# certificates (TA, RIR, two members) and 4 manifests and CRLs.
counts() {
	jq -r '.metadata | "\(.certificates) \(.manifests) \(.crls) \(.vrps)"' \
	    "$1/output/json"
}

rp_rsyncd_start "$RP_WORK/tree/current" "$port" || exit 1
for tal in old new; do
	for v in rpki-client fort; do
		rpc_validate "$v" rsync "$RP_WORK/$tal.tal" \
		    "$RP_WORK/out-$v-$tal" "$RP_WORK/expected" \
		    "$v with the $tal TAL during the roll"
	done
	got=$(counts "$RP_WORK/out-rpki-client-$tal")
	[ "$got" = "4 4 4 5" ] ||
	    fail "rpki-client ($tal TAL) counts: $got, not 4 4 4 5"
done
# What FORT says about .tak files at all (it does not know the type): the
# runs above at level warning, and one more at level debug.
out=$RP_WORK/out-fort-debug
rp_fort_args rsync "$RP_WORK/new.tal" "$out" || exit 1
timeout "$RP_TIMEOUT" "$RP_FORT" --mode=standalone "${RP_FORT_ARGS[@]}" \
    --log.level=debug --validation-log.level=debug >"$out/stdout" 2>&1
grep -h -i '\.tak' "$RP_WORK"/out-fort-*/stdout "$RP_WORK"/out-fort-*/stderr \
    >"$RP_WORK/fort-tak.txt"
# The debug run did log: it names every manifest it read (4 CAs).
nmft=$(grep -c -E 'DBG.*\.mft' "$out/stdout")
[ "$nmft" -ge 4 ] || fail "FORT at level debug named $nmft manifests, not 4+"
echo "=== FORT 1.5.4 on .tak files ($(wc -l <"$RP_WORK/fort-tak.txt") lines;" \
    "$(grep -c DBG "$out/stdout") debug lines in all):"
cat "$RP_WORK/fort-tak.txt"
grep -v -E ' (DBG|INF)' "$RP_WORK/fort-tak.txt" | grep -q . &&
    fail "FORT warned about a .tak file"
rp_rsyncd_stop

# finish: the new TAL only.
cairnd ta-keyroll ta finish --force >"$RP_WORK/finish.log" 2>&1 ||
    { cat "$RP_WORK/finish.log" >&2; fail "ta-keyroll finish --force"; }
cairnd tal ta >"$RP_WORK/after.tal" 2>>"$RP_WORK/tal.log" || fail "cairnd tal"
cmp -s "$RP_WORK/after.tal" "$RP_WORK/new.tal" ||
    fail "after finish the TAL is not the one announced by tal --next"
cairnd export "$RP_WORK/tree" >>"$RP_WORK/export.log" 2>&1 || fail "export"
chmod -R a+rX "$RP_WORK/tree" "$RP_WORK"/*.tal
ntak=$(find "$RP_WORK/tree/current/" -name '*.tak' | wc -l)
[ "$ntak" = 1 ] || fail "$ntak .tak files after the roll, not 1"
rp_rsyncd_start "$RP_WORK/tree/current" "$port" || exit 1
for v in rpki-client fort; do
	rpc_validate "$v" rsync "$RP_WORK/new.tal" "$RP_WORK/out-$v-after" \
	    "$RP_WORK/expected" "$v after the roll"
done
got=$(counts "$RP_WORK/out-rpki-client-after")
[ "$got" = "4 4 4 5" ] || fail "rpki-client counts after the roll: $got"
# The old TAL's certificate is gone: no VRPs through it.
out=$RP_WORK/out-rpki-client-oldafter
rp_validate rpki-client rsync "$RP_WORK/old.tal" "$out" || exit 1
[ -s "$out/vrps" ] && fail "the old TAL still gives VRPs after finish"

[ "$failed" = 0 ] && echo PASS
exit "$failed"
