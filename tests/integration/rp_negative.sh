#!/bin/bash
#
# Negative end-to-end tests: each case breaks one thing in the repository of
# rp_repo.txt; rpki-client 8.2 and FORT 1.5.4 (rsync only, fresh caches) must
# complain about it and drop exactly the VRPs that depend on it.
#
#   rp_negative.sh MKREPO CASE
#   CASE: mft-expired | roa-outside | mft-hash | crl-revoked | wrong-tal-key
. "$(dirname "$0")/rp_lib.sh" "$1"
case=${2:?usage: $0 mkrepo case}

M1='AS64496 10.1.0.0/16 24
AS64496 10.1.128.0/17 17
AS64496 2001:db8:1::/48 48'
M2='AS64500 10.2.0.0/16 20
AS64501 192.0.2.0/24 24
AS64501 2001:db8:2::/48 64'

# A run with this many failure counters/complaints is never acceptable: the
# ASPA profile mismatch of rpki-client 8.2 (see rp_positive.sh) is removed
# from these repositories so that every complaint is about the broken part.
rpt_setup
desc=$(rpt_desc '/^aspa/d')

case $case in
mft-expired)
	# m2's manifest expired an hour ago: its publication point fails, so
	# its VRPs go; m1 is untouched.
	rpt_repo r "$(printf '%s\n' "$desc" | sed '/^ca *m2 /s/$/ mft-expired/')"
	rpt_mkrepo_vrps r "$M1"
	rpt_run r
	rpt_show r
	for v in rpki-client fort; do
		rpt_vrps "$v" r "$M1"
	done
	rpt_complaint rpki-client r "m2/m2\.mft: certificate has expired"
	rpt_complaint fort r "m2/m2\.mft: .*certificate has expired"
	rpt_complaint rpki-client r "counter failedmanifests=1"
	rpt_only rpki-client r "m2/m2\.mft: "
	rpt_only fort r "m2/m2\.mft: "
	;;
roa-outside)
	# m1 signs a ROA for 10.9.0.0/16, which its certificate does not hold
	# (the RIR does): that ROA is invalid, the rest stands.
	rpt_repo r "$(printf '%s\nroa m1 64496 10.9.0.0/16\n' "$desc")"
	rpt_mkrepo_vrps r "$M1
$M2"
	rpt_run r
	rpt_show r
	for v in rpki-client fort; do
		rpt_vrps "$v" r "$M1
$M2"
		rpt_complaint "$v" r \
		    "m1/as64496-5\.roa: .*resource not subset of parent.s resources"
		rpt_only "$v" r "m1/as64496-5\.roa: "
	done
	rpt_complaint rpki-client r "counter failedroas=1"
	;;
mft-hash)
	# One octet of m2's as64501-4.roa changes after signing: the manifest
	# hash no longer matches.  RFC 9286 §6.6 makes the whole publication
	# point fail, so every VRP of m2 must go, not just that ROA's.
	rpt_repo r "$desc"
	f=$RP_REPO/r/m2/as64501-4.roa
	before=$(sha256sum <"$f")
	# Flip the lowest bit of the last octet (inside the CMS signature).
	perl -e 'open(F, "+<", $ARGV[0]) or die "$ARGV[0]: $!";
	    seek(F, -1, 2); read(F, $c, 1); seek(F, -1, 2);
	    print F chr(ord($c) ^ 1); close(F) or die' "$f" || exit 1
	[ "$(sha256sum <"$f")" != "$before" ] || { echo "tamper failed"; exit 1; }
	rpt_run r
	rpt_show r
	for v in rpki-client fort; do
		rpt_vrps "$v" r "$M1"
		rpt_complaint "$v" r \
		    "bad message digest for as64501-4\.roa|as64501-4\.roa. does not match its manifest hash"
		rpt_only "$v" r "m2/m2\.mft: "
	done
	rpt_complaint rpki-client r 'counter failedmanifests=1'
	;;
crl-revoked)
	# m1's CRL revokes the EE cert of as64496-2.roa (10.1.128.0/17).
	rpt_repo r "$(printf '%s\n' "$desc" |
	    sed '/^roa *m1 *64496 *10\.1\.128\.0\/17/s/$/ revoked/')"
	want=$(printf '%s\n%s\n' "$M1" "$M2" | grep -v '10\.1\.128\.0/17')
	rpt_mkrepo_vrps r "$want"
	rpt_run r
	rpt_show r
	for v in rpki-client fort; do
		rpt_vrps "$v" r "$want"
		rpt_complaint "$v" r "m1/as64496-2\.roa: .*certificate revoked"
		rpt_only "$v" r "m1/as64496-2\.roa: "
	done
	rpt_complaint rpki-client r "counter failedroas=1"
	;;
wrong-tal-key)
	# The TAL names our TA certificate but carries another key.
	rpt_repo r "$desc"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$RP_WORK/other.key" 2>/dev/null || exit 1
	rp_tal_write "$RP_WORK/wrong.tal" "$RP_WORK/other.key" \
	    "${RP_RSYNC_BASE}r/ta.cer" || exit 1
	# The same TAL with the right key validates: the run below fails only
	# because of the key.
	rp_tal_write "$RP_WORK/right.tal" "$RP_REPO/r/ta.cer" \
	    "${RP_RSYNC_BASE}r/ta.cer" || exit 1
	rpt_run r "$RP_WORK/wrong.tal"
	rpt_show r
	for v in rpki-client fort; do
		rpt_vrps "$v" r ""
	done
	rpt_complaint rpki-client r "ta\.cer: .*pubkey does not match TAL pubkey"
	rpt_complaint fort r "ta\.cer: TAL.s public key is different"
	rpt_complaint fort r "exit code 22"
	rpt_only rpki-client r "ta/wrong/ta\.cer: "
	rpt_only fort r "wrong\.tal|ta\.cer: |exit code 22|First validation wasn.t successful"
	rpt_run right "$RP_WORK/right.tal"
	rpt_show right
	for v in rpki-client fort; do
		rpt_vrps "$v" right "$M1
$M2"
		rpt_clean "$v" right
	done
	;;
*)
	echo "unknown case $case" >&2
	exit 2
	;;
esac
rpt_done
