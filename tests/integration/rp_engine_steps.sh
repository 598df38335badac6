#!/bin/bash
#
# The life of a repository, step by step, over RRDP: cairnd (SoftHSM2,
# `cairnd run` with its API) and cairn-pubd (HTTPS with a test CA) on one
# embedded PostgreSQL.  After every step rpki-client 8.2 and FORT 1.5.4,
# each with a fresh cache and RRDP only, must give exactly the VRPs that the
# test computes from what it configured, and no complaint.
#
# The test keeps the configuration it has made so far as a mkrepo
# description ($W/desc): every change made through cairnd is made to the
# description too, and `mkrepo -e` / `mkrepo -a` derive the VRPs and ASPAs
# a validator must show from it (a ROA configuration outside its CA's
# resources gives no VRP, an ASPA whose customer the CA lost none).
#
# Two parts, each its own ctest test (each builds the same hierarchy):
#   content   hierarchy; add, modify, delete ROAs; add, modify, delete ASPAs
#   keys      hierarchy with ROAs and an ASPA; resource shrink (a member
#             loses a prefix: its ROA re-issued, its child's certificate
#             re-issued and the child's ROA withdrawn, in one RRDP serial);
#             emergency key roll of a member (compromised key: start,
#             activate without staging, finish; the old certificate on the
#             parent's CRL); a BGPsec router certificate
# (Transfers and the bulk key roll are in rp_engine_pubd.sh.)
#
# ASPAs: rpki-client 8.2 reads only the draft-10 encoding and FORT 1.5.4
# none (docs/testing.md), so neither shows ours.  The ASPA steps require
# that rpki-client's only complaints are its parse failure, once per ASPA
# the test expects, that FORT is silent, and that the .asa files cairn-pubd
# serves decode (signature checked by openssl cms) to exactly the expected
# customer/provider sets.
#
#   rp_engine_steps.sh path/to/cairnd path/to/mkrepo path/to/cairn-pubd PART
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
. "$here/rp_cairn_lib.sh"
usage="usage: $0 cairnd mkrepo cairn-pubd content|keys"
CAIRND=${1:?$usage}
MKREPO=${2:?$usage}
PUBD=${3:?$usage}
PART=${4:?$usage}
case $PART in content|keys) ;; *) echo "$usage" >&2; exit 2 ;; esac

rpc_init api
trap 'rc=$?; rpc_show_logs $rc "$W/run.log" "$W/pubd.log"; rp_cleanup' EXIT

rp_cairnd_setup "$W" "$base" "notify-uri = $NOTIFY
[engine]
tick = 1s
[api]
port = $AP" || exit 1
rpc_pubd_conf "$W/data"
cairnd() { "$CAIRND" -c "$W/cairnd.conf" "$@"; }

# ---- the hierarchy --------------------------------------------------------
# m1c is a CA below the member m1 (an LIR's customer), so that a shrink of
# m1 reaches a child certificate.
cat >"$W/desc" <<'DESC'
ta   ta   as=1-4294967295 v4=0.0.0.0/0 v6=::/0
ca   rir  ta   as=64496-64511 v4=10.0.0.0/8,192.0.2.0/24 v6=2001:db8::/32
ca   m1   rir  as=64496-64498 v4=10.1.0.0/16 v6=2001:db8:1::/48
ca   m1c  m1   as=64497-64498 v4=10.1.100.0/24,10.1.192.0/18
ca   m2   rir  as=64500-64501 v4=10.2.0.0/16,192.0.2.0/24 v6=2001:db8:2::/48
DESC
# cairnd apply reads the same format (CAs only here).
cairnd apply "$W/desc" >"$W/apply.log" 2>&1 ||
    { cat "$W/apply.log" >&2; echo "FAIL: cairnd apply" >&2; exit 1; }
ncas=$(grep -c -E '^(ta|ca) ' "$W/desc")
rpc_rrdp_tal "$W/cairnd.conf" "$W/ta.tal"
TOKEN=$(cairnd token create --admin steps 2>"$W/token.log" | tail -n 1)
case $TOKEN in cairn_*) ;; *) cat "$W/token.log" >&2
	echo "FAIL: no API token" >&2; exit 1 ;; esac

rpc_pubd_start
# Not through the cairnd function: $! must be the daemon, not a subshell.
"$CAIRND" -c "$W/cairnd.conf" run >"$W/run.log" 2>&1 &
CAIRND_PID=$!
for _ in $(seq 100); do
	curl -s -o /dev/null "$API/health" && break
	kill -0 "$CAIRND_PID" 2>/dev/null || break
	sleep 0.1
done
curl -s -o /dev/null "$API/health" ||
    { cat "$W/run.log" >&2; echo "FAIL: cairnd run has no API" >&2; exit 1; }

pending() {
	curl -s -H "Authorization: Bearer $TOKEN" "$API/metrics" |
	    sed -n 's/^cairn_publication_pending \([0-9]*\)$/\1/p'
}
# settle SERIAL: until every publication intent is in an RRDP serial past
# SERIAL, the notification has stayed at the same serial for a second and
# cairn-pubd has swapped in that serial's rsync tree.  Prints the serial.
settle() {
	local last=-1 n p same=0
	for _ in $(seq 300); do
		p=$(pending)
		n=$(rpc_serial)
		if [ "$p" = 0 ] && [ -n "$n" ] && [ "$n" -gt "$1" ] &&
		    [ "$n" = "$last" ]; then
			same=$((same + 1))
			if [ "$same" -ge 4 ]; then
				rpc_wait_serial "$n"
				echo "$n"
				return 0
			fi
		else
			same=0
		fi
		last=$n
		sleep 0.25
	done
	echo "FAIL: no new RRDP serial after $1 (pending: $p)" >&2
	exit 1
}
# api METHOD PATH [JSON]: the answer must be 2xx.
api() {
	local code
	code=$(curl -s -o "$W/api.out" -w '%{http_code}' -X "$1" \
	    -H "Authorization: Bearer $TOKEN" ${3:+-d "$3"} "$API$2")
	case $code in
	2??) return 0 ;;
	*) fail "$1 $2 ${3:-}: HTTP $code $(cat "$W/api.out")"; return 1 ;;
	esac
}
# A change of the description: desc_add LINE... / desc_sed EXPR.
desc_add() { printf '%s\n' "$@" >>"$W/desc"; }
desc_sed() { sed -i -e "$1" "$W/desc"; }

# The ASPAs of the repository that cairn-pubd serves: each .asa is checked
# by openssl (CMS signature by its EE certificate) and its eContent read:
# [0] version 1, customerASID, providers.
served_aspas() {
	local f ints
	find -L "$W/pubrsync/current/" -name '*.asa' | while read -r f; do
		if ! openssl cms -verify -noverify -binary -inform DER -in "$f" \
		    -out "$W/asa.econtent" 2>/dev/null; then
			echo "BAD-CMS $f"
			continue
		fi
		ints=$(openssl asn1parse -inform DER -in "$W/asa.econtent" |
		    sed -n 's/.*prim: INTEGER *:\([0-9A-F]*\)$/\1/p' |
		    while read -r h; do echo $((16#$h)); done | tr '\n' ' ')
		set -- $ints
		[ "${1:-}" = 1 ] || { echo "BAD-VERSION $f"; continue; }
		shift
		c=$1
		shift
		echo "AS$c $(printf '%s\n' "$@" | sort -n | paste -sd, -)"
	done | LC_ALL=C sort
}

step=0
# validate LABEL: both validators over RRDP against the expectations.
validate() {
	local label=$1 v o serial naspa asa_fail got want
	step=$((step + 1))
	serial=$(rpc_serial)
	"$MKREPO" -e "$W/desc" >"$W/expected.vrps" ||
	    { echo "FAIL: mkrepo -e" >&2; exit 1; }
	"$MKREPO" -a "$W/desc" >"$W/expected.aspas" ||
	    { echo "FAIL: mkrepo -a" >&2; exit 1; }
	naspa=$(wc -l <"$W/expected.aspas")
	asa_fail='\.asa: ASPA: failed to parse ASProviderAttestation$'
	for v in rpki-client fort; do
		o=$W/out/$step-$v
		rp_validate "$v" rrdp "$W/ta.tal" "$o" || exit 1
		echo "--- step $step, $label, serial $serial: $v rc $(cat "$o/rc")," \
		    "$(wc -l <"$o/vrps") VRPs (expected $(wc -l <"$W/expected.vrps"))"
		sed 's/^/    /' "$o/complaints"
		rp_expect_vrps "$o" "$W/expected.vrps" || fail "$label: $v VRPs"
		if [ "$v" = fort ] || [ "$naspa" = 0 ]; then
			rp_expect_clean "$o" || fail "$label: $v complaints"
			continue
		fi
		# rpki-client 8.2 and ASPA profile v1: the parse failure, once
		# per expected ASPA, and nothing else.
		[ "$(grep -c -E "$asa_fail" "$o/complaints")" = "$naspa" ] ||
		    fail "$label: rpki-client: not $naspa ASPA parse failures"
		grep -v -E "$asa_fail" "$o/complaints" |
		    grep -v -E '^rpki-client: rpki-client:  \.\.\.trace: error:[0-9A-F]+:asn1 encoding routines::(wrong tag|nested asn1 error)$' |
		    grep -v -x "rpki-client: counter failedaspas=$naspa" \
		    >"$o/other"
		[ -s "$o/other" ] && { cat "$o/other" >&2
			fail "$label: rpki-client complained about more than ASPAs"; }
	done
	# What rpki-client saw: every CA's certificate, manifest and CRL.
	o=$W/out/$step-rpki-client
	got=$(jq -r '.metadata | "\(.certificates) \(.manifests) \(.crls)"' \
	    "$o/output/json")
	want="$((ncas + nrouters)) $ncas $ncas"
	[ "$got" = "$want" ] ||
	    fail "$label: rpki-client certificates/manifests/CRLs $got, not $want"
	served_aspas >"$W/served.aspas"
	diff -u "$W/expected.aspas" "$W/served.aspas" >&2 ||
	    fail "$label: the served ASPAs differ from the configuration"
}
nrouters=0

s=$(settle 0)
validate "hierarchy"
[ -s "$W/expected.vrps" ] && fail "the bare hierarchy expects VRPs"

# ROAs and an ASPA for the keys part: all at once.
add_roas() {
	api POST /cas/m1/roas '{"add":[
	    {"asn":64496,"prefix":"10.1.0.0/16","max_length":24},
	    {"asn":64496,"prefix":"10.1.128.0/17"},
	    {"asn":64496,"prefix":"2001:db8:1::/48"}]}'
	api POST /cas/m1c/roas '{"add":[
	    {"asn":64497,"prefix":"10.1.100.0/24"},
	    {"asn":64498,"prefix":"10.1.192.0/18","max_length":20}]}'
	api POST /cas/m2/roas '{"add":[
	    {"asn":64500,"prefix":"10.2.0.0/16","max_length":20},
	    {"asn":64501,"prefix":"192.0.2.0/24"},
	    {"asn":64501,"prefix":"2001:db8:2::/48","max_length":64}]}'
	# One line per configuration: the engine withdraws them one by one.
	desc_add 'roa m1  64496 10.1.0.0/16-24' 'roa m1  64496 10.1.128.0/17' \
	    'roa m1  64496 2001:db8:1::/48' 'roa m1c 64497 10.1.100.0/24' \
	    'roa m1c 64498 10.1.192.0/18-20' 'roa m2  64500 10.2.0.0/16-20' \
	    'roa m2  64501 192.0.2.0/24' 'roa m2  64501 2001:db8:2::/48-64'
}

if [ "$PART" = content ]; then
	add_roas
	s=$(settle "$s")
	validate "ROAs added"
	[ "$(wc -l <"$W/expected.vrps")" -ge 8 ] || fail "ROAs: too few VRPs expected"

	# A new maxLength: one configuration replaced by another, atomically.
	api POST /cas/m2/roas '{"remove":[{"asn":64500,"prefix":"10.2.0.0/16","max_length":20}],
	    "add":[{"asn":64500,"prefix":"10.2.0.0/16","max_length":24}]}'
	desc_sed 's|^roa m2  64500 10.2.0.0/16-20$|roa m2  64500 10.2.0.0/16-24|'
	grep -q '10.2.0.0/16-24' "$W/desc" || fail "desc: the ROA change"
	s=$(settle "$s")
	validate "ROA modified"
	grep -q '^AS64500 10.2.0.0/16 24$' "$W/expected.vrps" ||
	    fail "mkrepo does not expect the modified VRP"

	api POST /cas/m1/roas '{"remove":[{"asn":64496,"prefix":"2001:db8:1::/48"}]}'
	api POST /cas/m2/roas '{"remove":[{"asn":64501,"prefix":"192.0.2.0/24"}]}'
	desc_sed '/^roa m1  64496 2001:db8:1::\/48$/d'
	desc_sed '/^roa m2  64501 192.0.2.0\/24$/d'
	s=$(settle "$s")
	validate "ROAs deleted"
	grep -q -E '2001:db8:1::/48|192.0.2.0/24' "$W/expected.vrps" &&
	    fail "mkrepo still expects deleted VRPs"

	api PUT /cas/m1/aspas/64496 '{"providers":[64501,64500]}'
	api PUT /cas/m2/aspas/AS64500 '{"providers":[4200000000,64511]}'
	desc_add 'aspa m1 64496 64500,64501' 'aspa m2 64500 4200000000,64511'
	s=$(settle "$s")
	validate "ASPAs added"
	[ "$(wc -l <"$W/expected.aspas")" = 2 ] || fail "ASPAs: not 2 expected"

	api PUT /cas/m1/aspas/64496 '{"providers":[64502,64500,65000]}'
	desc_sed 's|^aspa m1 64496 .*|aspa m1 64496 64502,64500,65000|'
	s=$(settle "$s")
	validate "ASPA modified"
	grep -q -x 'AS64496 64500,64502,65000' "$W/expected.aspas" ||
	    fail "mkrepo does not expect the modified ASPA"

	api DELETE /cas/m2/aspas/64500
	desc_sed '/^aspa m2 /d'
	s=$(settle "$s")
	validate "ASPA deleted"
	[ "$(wc -l <"$W/expected.aspas")" = 1 ] || fail "ASPAs: not 1 expected"
else
	add_roas
	api PUT /cas/m1/aspas/64496 '{"providers":[64500,64501]}'
	desc_add 'aspa m1 64496 64500,64501'
	s=$(settle "$s")
	validate "ROAs and an ASPA"

	# m1 loses 10.1.128.0/17.  Its child m1c keeps what is left of its
	# resources (10.1.192.0/18 is gone), so m1's AS64496 ROA is re-issued
	# without 10.1.128.0/17, m1c's certificate is re-issued and m1c's
	# AS64498 ROA is withdrawn: all in one transaction, one RRDP serial.
	before=$(rpc_serial)
	api PUT /cas/m1/resources \
	    '{"asn":"64496-64498","ipv4":"10.1.0.0/17","ipv6":"2001:db8:1::/48"}'
	desc_sed 's|^\(ca   m1   rir .*\) v4=10.1.0.0/16|\1 v4=10.1.0.0/17|'
	desc_sed 's|^\(ca   m1c  m1 .*\) v4=.*|\1 v4=10.1.100.0/24|'
	s=$(settle "$before")
	[ "$s" = $((before + 1)) ] ||
	    fail "the shrink took serials $((before + 1))..$s, not one"
	d=$(curl -s --cacert "$RP_HTTPS_CA" "$NOTIFY" |
	    sed -n "s/.*<delta serial=\"$((before + 1))\" uri=\"\([^\"]*\)\".*/\1/p")
	curl -s --cacert "$RP_HTTPS_CA" "$d" >"$W/shrink-delta.xml"
	grep -q "<publish uri=\"${base}rir/[0-9a-f]*\.cer\" hash=" \
	    "$W/shrink-delta.xml" || fail "shrink delta: m1's certificate"
	grep -q "<publish uri=\"${base}m1/[0-9a-f]*\.roa\" hash=" \
	    "$W/shrink-delta.xml" || fail "shrink delta: m1's ROA"
	grep -q "<publish uri=\"${base}m1/[0-9a-f]*\.cer\" hash=" \
	    "$W/shrink-delta.xml" || fail "shrink delta: m1c's certificate"
	grep -q "<withdraw uri=\"${base}m1c/[0-9a-f]*\.roa\" hash=" \
	    "$W/shrink-delta.xml" || fail "shrink delta: m1c's ROA withdrawn"
	validate "resource shrink"
	grep -q -E '10\.1\.(128|192)\.0/' "$W/expected.vrps" &&
	    fail "mkrepo expects VRPs of the lost prefix"

	# Emergency: m2's key is compromised.  The new key is activated at
	# once (no staging period) and the old one revoked by the parent.
	certs_of() {	# the serials of the certificates in rir's directory
		local f
		for f in "$W"/pubrsync/current/rir/*.cer; do
			openssl x509 -inform DER -in "$f" -noout -serial |
			    sed 's/^serial=//'
		done | sort
	}
	certs_of >"$W/certs.before"
	for st in start activate finish; do
		api POST /cas/m2/keyroll "{\"step\":\"$st\",\"force\":true}"
	done
	s=$(settle "$s")
	certs_of >"$W/certs.after"
	gone=$(comm -23 "$W/certs.before" "$W/certs.after")
	[ "$(echo "$gone" | grep -c .)" = 1 ] ||
	    fail "emergency roll: not exactly one certificate replaced in rir/: $gone"
	crl=$(find "$W/pubrsync/current/rir/" -name '*.crl')
	[ "$(echo "$crl" | grep -c .)" = 1 ] || fail "rir has not one CRL"
	openssl crl -inform DER -in "$crl" -noout -text |
	    grep -q "Serial Number: $gone\$" ||
	    fail "emergency roll: m2's old certificate ($gone) is not on rir's CRL"
	[ "$(find "$W/pubrsync/current/m2/" -name '*.mft' | wc -l)" = 1 ] ||
	    fail "emergency roll: the old key's manifest is still published"
	validate "emergency key roll"

	# A BGPsec router key of AS64496, certified by m1 (RFC 8209).
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$W/router.key" 2>/dev/null &&
	    openssl req -new -key "$W/router.key" -subj /CN=ROUTER-0000FBF0 \
	    -outform DER -out "$W/router.csr" ||
	    { echo "FAIL: openssl req" >&2; exit 1; }
	api POST /cas/m1/routers \
	    "{\"csr\":\"$(base64 -w0 "$W/router.csr")\",\"asns\":[64496]}"
	nrouters=1
	s=$(settle "$s")
	validate "router certificate"
	# The key's identifier (RFC 8209: SHA-1 of the subjectPublicKey, the
	# last 65 octets of a P-256 SubjectPublicKeyInfo) and AS, as
	# rpki-client lists them.  FORT 1.5.4 skips BGPsec router certificates
	# ("Type: BGPsec EE. Ignoring..." at debug level): it must list none
	# and stay silent (checked above).
	ski=$(openssl pkey -in "$W/router.key" -pubout -outform DER |
	    tail -c 65 | openssl dgst -sha1 -r | cut -c1-40)
	got=$(cat "$W/out/$step-rpki-client/routers")
	[ "$got" = "AS64496 $ski" ] ||
	    fail "rpki-client router keys: \"$got\", not \"AS64496 $ski\""
	[ -s "$W/out/$step-fort/routers" ] &&
	    fail "FORT 1.5.4 lists router keys: update this test"
fi

[ "$failed" = 0 ] && echo PASS
exit "$failed"
