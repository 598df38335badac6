#!/bin/bash
#
# Positive end-to-end test: mkrepo builds TA -> RIR CA -> two member CAs
# with ROAs (IPv4 + IPv6, with and without maxLength) and ASPAs, and below
# one of them a CA whose AS resources are "inherit"; rpki-client
# 8.2 and FORT 1.5.4 fetch it over rsync only, each with a fresh cache, and
# must report exactly the configured VRPs and no complaint about our objects.
#
# ASPA: both validators predate the ASPA profile that Cairn emits (version 1,
# draft-ietf-sidrops-aspa-profile-16 and later).  rpki-client 8.2 only reads
# the draft-10 encoding and reports "ASPA: failed to parse
# ASProviderAttestation" for ours; FORT 1.5.4 ignores .asa files.  So:
#   - a second repository, identical but without ASPAs, must give zero
#     complaints from both validators;
#   - with ASPAs, rpki-client's only complaints must be that parse failure,
#     once per .asa file (it is raised after the CMS signature, the EE cert
#     and the chain were checked), and FORT must stay silent;
#   - the eContent of each .asa file is compared byte by byte with the DER
#     computed by hand from the profile below.
. "$(dirname "$0")/rp_lib.sh" "$@"

EXPECT='AS64496 10.1.0.0/16 24
AS64496 10.1.128.0/17 17
AS64496 2001:db8:1::/48 48
AS64500 10.2.0.0/16 20
AS64501 192.0.2.0/24 24
AS64501 192.0.2.128/25 25
AS64501 2001:db8:2::/48 64'

# m3 inherits its AS resources from m2 (RFC 3779 "inherit").  IP "inherit"
# in a CA certificate is not used here: rpki-client 8.2 checks an inherited
# IP family as the single address 0 against the parent's resources, so it
# refuses it unless the parent holds address 0 (docs/testing.md); FORT
# accepts it.  Cairn's engine certifies explicit resources.
INHERIT='ca   m3   m2   as=inherit v4=192.0.2.128/25
roa  m3   64501  192.0.2.128/25'

rpt_setup
rpt_repo full "$(rpt_desc; echo "$INHERIT")"
rpt_repo noaspa "$(rpt_desc '/^aspa/d'; echo "$INHERIT")"
rpt_mkrepo_vrps full "$EXPECT"
rpt_mkrepo_vrps noaspa "$EXPECT"
rpt_run full
rpt_run noaspa
rpt_show full
rpt_show noaspa

for v in rpki-client fort; do
	rpt_vrps "$v" full "$EXPECT"
	rpt_vrps "$v" noaspa "$EXPECT"
	rpt_clean "$v" noaspa
done
rpt_clean fort full

# rpki-client saw every object: 5 CA certs (TA included), 5 manifests,
# 5 CRLs, 5 ROAs, and the 2 ASPAs where there are some.
counts() {	# name aspas
	local got
	got=$(jq -r '.metadata | "\(.certificates) \(.manifests) \(.crls)" +
	    " \(.roas) \(.aspas)"' "$(rpt_out rpki-client "$1")/output/json")
	[ "$got" = "5 5 5 5 $2" ] ||
	    rpt_fail "rpki-client: object counts on $1: $got, not 5 5 5 5 $2"
}
counts full 2
counts noaspa 0

# rpki-client on the repository with ASPAs: only the known profile mismatch.
out=$(rpt_out rpki-client full)
asa_fail='\.rsync/127\.0\.0\.1:[0-9]+/repo/full/m[12]/as64(496|500)\.asa: ASPA: failed to parse ASProviderAttestation$'
n=$(grep -c -E "$asa_fail" "$out/complaints")
if [ "$n" != 2 ]; then
	# A newer rpki-client that reads profile v1 would land here: then it
	# must report our two ASPAs and nothing else.
	rpt_fail "rpki-client: expected the draft-10 parse failure for both" \
	    ".asa files, got $n"
fi
grep -v -E "$asa_fail" "$out/complaints" |
    grep -v -E '^rpki-client: rpki-client:  \.\.\.trace: error:[0-9A-F]+:asn1 encoding routines::(wrong tag|nested asn1 error)$' |
    grep -v -x 'rpki-client: counter failedaspas=2' >"$out/other-complaints"
if [ -s "$out/other-complaints" ]; then
	rpt_fail "rpki-client: complaints besides the ASPA profile mismatch:"
	cat "$out/other-complaints" >&2
fi
grep -q -x 'rpki-client: counter failedaspas=2' "$out/complaints" ||
    rpt_fail "rpki-client: failedaspas is not 2"

# ASPA eContent, DER by hand (draft-ietf-sidrops-aspa-profile, version 1):
#   30 16                      ASProviderAttestation, 22 octets
#      a0 03 02 01 01          [0] EXPLICIT version 1
#      02 03 00 fb f0          customerASID 64496
#      30 0a                   providers
#         02 03 00 fb f4       64500
#         02 03 00 fb f5       64501
#   30 18
#      a0 03 02 01 01
#      02 03 00 fb f4          customerASID 64500
#      30 0c
#         02 03 00 fb ff       64511 (sorted before ...)
#         02 05 00 fa 56 ea 00 4200000000 (needs a leading zero octet)
check_aspa() {	# file expected-hex
	local hex
	hex=$(openssl cms -verify -noverify -inform DER -in "$1" -binary \
	    2>/dev/null | od -An -tx1 -v | tr -d ' \n')
	if [ "$hex" != "$2" ]; then
		rpt_fail "$1: eContent $hex, expected $2"
	else
		echo "--- $(basename "$1"): eContent matches the profile"
	fi
	openssl cms -cmsout -inform DER -in "$1" -print 2>/dev/null |
	    grep -q -E "eContentType: .*(1\.2\.840\.113549\.1\.9\.16\.1\.49|id-ct-ASPA)" ||
	    rpt_fail "$1: eContentType is not id-ct-ASPA"
}
check_aspa "$RP_REPO/full/m1/as64496.asa" \
    3016a003020101020300fbf0300a020300fbf4020300fbf5
check_aspa "$RP_REPO/full/m2/as64500.asa" \
    3018a003020101020300fbf4300c020300fbff020500fa56ea00

rpt_done
