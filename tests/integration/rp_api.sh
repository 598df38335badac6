#!/bin/bash
#
# The administration side of the provisioning API, judged by relying
# parties: cairnd (embedded PostgreSQL, SoftHSM2) applies rp_repo.txt, then
# `cairnd run` serves the API and the cairn CLI creates a CA with a ROA and
# deletes it again, imports two members from a CSV file (one below the
# other) and gives the second one a ROA.  The exported repository, fetched
# over rsync by rpki-client and FORT, must hold exactly the VRPs that mkrepo
# derives from rp_repo.txt plus the imported members (nothing of the
# deleted CA), with no complaint except rpki-client 8.2's known ASPA
# profile mismatch (see rp_engine.sh).
#
#   rp_api.sh path/to/cairnd path/to/cairn path/to/mkrepo
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
CAIRND=${1:?usage: $0 cairnd cairn mkrepo}
CAIRN=${2:?usage: $0 cairnd cairn mkrepo}
MKREPO=${3:?usage: $0 cairnd cairn mkrepo}
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
daemon=

stop_daemon() {
	if [ -n "$daemon" ]; then
		kill "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
		daemon=
	fi
}
show_logs() {
	local f
	[ "$failed" = 0 ] && [ "${1:-0}" = 0 ] && return
	for f in "$RP_WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 40 "$f" >&2
	done
}

rp_init || exit 1
trap 'rc=$?; stop_daemon; show_logs $rc; rp_cleanup' EXIT
port=$(rp_free_port) || exit 1
base=rsync://127.0.0.1:$port/repo/
cairnd() { "$CAIRND" -c "$RP_WORK/cairnd.conf" "$@"; }

# The API port is free when picked; another test may take it first.
up=0
for _ in 1 2 3 4 5; do
	apiport=$(rp_free_port) || exit 1
	[ "$apiport" = "$port" ] && continue
	if [ ! -f "$RP_WORK/cairnd.conf" ]; then
		rp_cairnd_setup "$RP_WORK" "$base" "$(printf '[api]\nport = %s' \
		    "$apiport")" || exit 1
		cairnd apply "$here/rp_repo.txt" >"$RP_WORK/apply.log" 2>&1 ||
		    { fail "cairnd apply"; exit 1; }
		CAIRN_TOKEN=$(cairnd token create --admin ops 2>"$RP_WORK/token.log" |
		    tail -n 1)
		export CAIRN_TOKEN
	else
		sed -i "s/^port = .*/port = $apiport/" "$RP_WORK/cairnd.conf"
	fi
	export CAIRN_URL=http://127.0.0.1:$apiport
	# The binary itself, not the shell function: $! must be the daemon.
	"$CAIRND" -c "$RP_WORK/cairnd.conf" run >"$RP_WORK/run.log" 2>&1 &
	daemon=$!
	rp_api_wait "$daemon" && up=1
	[ $up = 1 ] && break
	stop_daemon
	grep -q "address already in use" "$RP_WORK/run.log" || break
done
[ $up = 1 ] || { fail "cairnd run did not serve the API"; exit 1; }

c() { "$CAIRN" "$@" >>"$RP_WORK/cairn.log" 2>&1 || fail "cairn $*"; }
# A CA with a ROA, deleted again: its objects and certificate must go.
c ca create gone --parent rir --asn 64505 --ipv4 10.5.0.0/16
c roa add gone AS64505 10.5.0.0/16
c ca delete gone
# Two members from a registry file; the second gets a ROA.
cat >"$RP_WORK/members.csv" <<'CSV'
handle,parent,asn,ipv4
imp-b,imp-a,64506,10.6.1.0/24
imp-a,rir,64506,"10.6.0.0/16"
CSV
c import resources "$RP_WORK/members.csv"
grep -q "2 created" "$RP_WORK/cairn.log" || fail "import: $(tail -n 1 "$RP_WORK/cairn.log")"
c roa add imp-b AS64506 10.6.1.0/24
stop_daemon
[ "$failed" = 0 ] || exit 1

cairnd export "$RP_WORK/tree" >"$RP_WORK/export.log" 2>&1 || fail "cairnd export"
cairnd tal ta >"$RP_WORK/ta.tal" 2>"$RP_WORK/tal.log" || fail "cairnd tal"
chmod -R a+rX "$RP_WORK/tree" "$RP_WORK/ta.tal"
[ "$failed" = 0 ] || exit 1

# What the relying parties must see: rp_repo.txt and the imported members.
{
	cat "$here/rp_repo.txt"
	echo "ca   imp-a rir    as=64506 v4=10.6.0.0/16"
	echo "ca   imp-b imp-a  as=64506 v4=10.6.1.0/24"
	echo "roa  imp-b 64506  10.6.1.0/24"
} >"$RP_WORK/repo.txt"
"$MKREPO" -b "$base" -o "$RP_WORK/mk" -t "$RP_WORK/mk.tal" \
    "$RP_WORK/repo.txt" >"$RP_WORK/expected" || { echo "mkrepo failed" >&2; exit 1; }
grep -q "10.6.1.0/24" "$RP_WORK/expected" || { echo "no expected VRP of imp-b" >&2; exit 1; }

rp_rsyncd_start "$RP_WORK/tree/current" "$port" || exit 1
for v in rpki-client fort; do
	rp_validate "$v" rsync "$RP_WORK/ta.tal" "$RP_WORK/out-$v" || exit 1
	rp_expect_vrps "$RP_WORK/out-$v" "$RP_WORK/expected" || fail "$v VRPs"
done
rp_expect_clean "$RP_WORK/out-fort" || fail "fort complained"
naspa=$(grep -c '^aspa' "$here/rp_repo.txt")
out=$RP_WORK/out-rpki-client
asa_fail='\.asa: ASPA: failed to parse ASProviderAttestation$'
grep -v -E "$asa_fail" "$out/complaints" |
    grep -v -E '^rpki-client: rpki-client:  \.\.\.trace: error:[0-9A-F]+:asn1 encoding routines::(wrong tag|nested asn1 error)$' |
    grep -v -x "rpki-client: counter failedaspas=$naspa" >"$out/other"
if [ -s "$out/other" ]; then
	fail "rpki-client complained about more than the ASPA profile:"
	cat "$out/other" >&2
fi
# The TA, rir, m1, m2 and the two members; nothing of the deleted CA.
got=$(jq -r '.metadata | "\(.certificates) \(.manifests) \(.crls)"' \
    "$out/output/json")
[ "$got" = "6 6 6" ] || fail "rpki-client object counts: $got, not 6 6 6"
[ "$failed" = 0 ] && echo PASS
exit "$failed"
