#!/bin/bash
#
# End-to-end test of the CA engine: cairnd, with its database in an embedded
# PostgreSQL and its CA keys in a SoftHSM2 token, applies rp_repo.txt (TA ->
# RIR CA -> two member CAs, ROAs, ASPAs), transfers a prefix with its ROA
# between the members, rolls the RIR CA's key, certifies a BGPsec router
# key, creates three more CAs with a bulk import, and exports the
# repository as an rsync tree; rpki-client 8.2 and FORT 1.5.4 fetch it over rsync only, each
# with a fresh cache.  Both must report exactly the VRPs that mkrepo derives
# from the same description, and no complaint except rpki-client 8.2's
# known inability to read ASPA profile version 1 (see rp_positive.sh, which
# also checks our ASPA eContent byte by byte).
#
#   rp_engine.sh path/to/cairnd path/to/mkrepo
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
. "$here/rp_cairn_lib.sh"
CAIRND=${1:?usage: $0 cairnd mkrepo}
MKREPO=${2:?usage: $0 cairnd mkrepo}

rpc_rsync_init

cairnd() { "$CAIRND" -c "$RP_WORK/cairnd.conf" "$@"; }
cairnd apply "$here/rp_repo.txt" >"$RP_WORK/apply.log" 2>&1 ||
    { cat "$RP_WORK/apply.log" >&2; fail "cairnd apply"; }
# Applying again changes nothing and is not an error.
cairnd apply "$here/rp_repo.txt" >"$RP_WORK/apply2.log" 2>&1 ||
    fail "second cairnd apply"
grep -q '^0 changes applied$' "$RP_WORK/apply2.log" ||
    fail "second apply changed something: $(tail -n 1 "$RP_WORK/apply2.log")"
# Make-before-break transfer of 192.0.2.0/24 from m2 to m1: its ROA
# configuration (AS64501) moves along, so the VRPs do not change.
cairnd transfer m2 m1 v4=192.0.2.0/24 >"$RP_WORK/transfer.log" 2>&1 ||
    { cat "$RP_WORK/transfer.log" >&2; fail "cairnd transfer"; }
cairnd transfer m2 m1 v4=192.0.2.0/24 >"$RP_WORK/transfer2.log" 2>&1 &&
    fail "a second transfer of the same prefix succeeded"

# A key roll of the RIR CA (RFC 6489): the new key re-certifies both
# members; activating before the staging period is refused.
cairnd keyroll rir start >"$RP_WORK/roll.log" 2>&1 || fail "keyroll start"
cairnd keyroll rir activate >>"$RP_WORK/roll.log" 2>&1 &&
    fail "keyroll activate succeeded within the staging period"
cairnd keyroll rir activate-now >>"$RP_WORK/roll.log" 2>&1 ||
    fail "keyroll activate-now"
cairnd keyroll rir finish >>"$RP_WORK/roll.log" 2>&1 || fail "keyroll finish"
# Then every hosted CA at once (bulk), step by step with progress.
for step in start activate-now finish; do
	cairnd keyroll-all "$step" >>"$RP_WORK/roll.log" 2>&1 ||
	    fail "keyroll-all $step"
done
grep -q '^\[3/3\] ' "$RP_WORK/roll.log" || fail "no progress lines for 3 CAs"

# A BGPsec router key of AS64496, certified by m1 (RFC 8209).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$RP_WORK/router.key" 2>/dev/null &&
    openssl req -new -key "$RP_WORK/router.key" -subj /CN=ROUTER-0000FBF0 \
    -addext extendedKeyUsage=1.3.6.1.5.5.7.3.30 -outform DER \
    -out "$RP_WORK/router.csr" || { echo "openssl req failed" >&2; exit 1; }
cairnd router-add m1 64496 "$RP_WORK/router.csr" >"$RP_WORK/router.log" 2>&1 ||
    { cat "$RP_WORK/router.log" >&2; fail "cairnd router-add"; }
cairnd router-add m1 64499 "$RP_WORK/router.csr" >"$RP_WORK/router2.log" 2>&1 &&
    fail "router-add for an AS that m1 does not hold succeeded"
grep -q "AS64499 is not within" "$RP_WORK/router2.log" ||
    fail "router-add error: $(cat "$RP_WORK/router2.log")"
# Bulk creation (cairnd import): three CAs in one batch, one of them the
# parent of another; then a file whose second line is outside the RIR's
# resources: refused, naming the line, and nothing of it is published.
cat >"$RP_WORK/import.csv" <<'EOF'
handle,parent,asns,ipv4,ipv6
i1,rir,64502-64503,10.3.0.0/16,2001:db8:3::/48
i2,rir,64504,"10.4.0.0/16,10.5.0.0/16",
ca i3 i1 as=64503 v4=10.3.1.0/24
EOF
cairnd import "$RP_WORK/import.csv" >"$RP_WORK/import.log" 2>&1 ||
    { cat "$RP_WORK/import.log" >&2; fail "cairnd import"; }
grep -q '^3 CAs created in 1 batches, 0 already existed' "$RP_WORK/import.log" ||
    fail "import summary: $(tail -n 1 "$RP_WORK/import.log")"
printf 'b1,rir,64505,10.6.0.0/16,\nb2,rir,64506,172.16.0.0/16,\n' \
    >"$RP_WORK/import-bad.csv"
cairnd import "$RP_WORK/import-bad.csv" >"$RP_WORK/import-bad.log" 2>&1 &&
    fail "an import with a line outside the parent's resources succeeded"
grep -q 'import-bad.csv:2: b2: resources are not within those of the parent rir' \
    "$RP_WORK/import-bad.log" ||
    fail "import error: $(cat "$RP_WORK/import-bad.log")"
cairnd export "$RP_WORK/tree" >"$RP_WORK/export.log" 2>&1 ||
    { cat "$RP_WORK/export.log" >&2; fail "cairnd export"; }
cairnd tal ta >"$RP_WORK/ta.tal" 2>"$RP_WORK/tal.log" || fail "cairnd tal"
chmod -R a+rX "$RP_WORK/tree" "$RP_WORK/ta.tal"
[ "$failed" = 0 ] || exit 1

"$MKREPO" -b "$base" -o "$RP_WORK/mk" -t "$RP_WORK/mk.tal" \
    "$here/rp_repo.txt" >"$RP_WORK/expected" || { echo "mkrepo failed" >&2; exit 1; }
[ -s "$RP_WORK/expected" ] || { echo "no expected VRPs" >&2; exit 1; }

rp_rsyncd_start "$RP_WORK/tree/current" "$port" || exit 1
for v in rpki-client fort; do
	rp_validate "$v" rsync "$RP_WORK/ta.tal" "$RP_WORK/out-$v" || exit 1
	echo "=== $v VRPs"
	cat "$RP_WORK/out-$v/vrps"
	echo "=== $v complaints"
	cat "$RP_WORK/out-$v/complaints"
	rp_expect_vrps "$RP_WORK/out-$v" "$RP_WORK/expected" || fail "$v VRPs"
done
rp_expect_clean "$RP_WORK/out-fort" || fail "fort complained"

naspa=$(grep -c '^aspa' "$here/rp_repo.txt")
out=$RP_WORK/out-rpki-client
asa_fail='\.asa: ASPA: failed to parse ASProviderAttestation$'
[ "$(grep -c -E "$asa_fail" "$out/complaints")" = "$naspa" ] ||
    fail "rpki-client: expected the ASPA profile mismatch for $naspa files"
grep -v -E "$asa_fail" "$out/complaints" |
    grep -v -E '^rpki-client: rpki-client:  \.\.\.trace: error:[0-9A-F]+:asn1 encoding routines::(wrong tag|nested asn1 error)$' |
    grep -v -x "rpki-client: counter failedaspas=$naspa" >"$out/other"
if [ -s "$out/other" ]; then
	fail "rpki-client complained about more than the ASPA profile:"
	cat "$out/other" >&2
fi
# Everything the engine made was seen: certificates (7 CAs, 3 of them
# imported, and the router), manifests and CRLs of the TA and 6 CAs, and one
# ROA per (CA, origin AS), the engine's default.
nroa=$(awk '$1 == "roa" { print $2, $3 }' "$here/rp_repo.txt" | sort -u | wc -l)
# The transfer made m1 an issuer of AS64501's ROA too (m2 keeps the IPv6 part).
nroa=$((nroa + 1))
got=$(jq -r '.metadata | "\(.certificates) \(.manifests) \(.crls) \(.roas)"' \
    "$out/output/json")
[ "$got" = "8 7 7 $nroa" ] ||
    fail "rpki-client object counts: $got, not 8 7 7 $nroa (the router cert counts)"

# The router key reached rpki-client's output: one key, for AS64496.
keys=$(jq -r '[.bgpsec_keys[]? | .asn | tostring | ltrimstr("AS")] | join(" ")' \
    "$out/output/json")
echo "=== rpki-client BGPsec router keys: $keys"
[ "$keys" = 64496 ] || fail "rpki-client router keys: \"$keys\", not 64496"

[ "$failed" = 0 ] && echo PASS
exit "$failed"
