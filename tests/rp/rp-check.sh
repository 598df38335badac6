#!/bin/bash
#
# rp-check.sh: one-shot use of the harness from the command line.
#
#   tests/rp/rp-check.sh path/to/mkrepo DESCRIPTION
#
# Builds the repository of DESCRIPTION with mkrepo, serves it with rsyncd on
# loopback, runs rpki-client and FORT over rsync (fresh caches, only this
# TAL), and prints each validator's VRPs, ASPAs and complaints.  Exit 0 when
# both gave exactly mkrepo's expected VRPs and no complaint, 1 otherwise.
# RP_KEEP=1 keeps the work directory (its path is printed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/rp.sh"

if [ $# != 2 ]; then
	echo "usage: $0 path/to/mkrepo description" >&2
	exit 2
fi
mkrepo=$1
desc=$2

rp_init || exit 1
rp_rsyncd_start || exit 1
"$mkrepo" -b "${RP_RSYNC_BASE}r/" -o "$RP_REPO/r" -t "$RP_WORK/r.tal" \
    "$desc" >"$RP_WORK/expected" || exit 1
chmod -R a+rX "$RP_REPO"
rp_validate_all "$RP_WORK/r.tal" "$RP_WORK/out" rsync || exit 1

rc=0
for v in rpki-client fort; do
	out=$RP_WORK/out/$v-rsync
	echo "=== $v (exit code $(cat "$out/rc"))"
	echo "--- VRPs"
	cat "$out/vrps"
	echo "--- ASPAs"
	cat "$out/aspas"
	echo "--- complaints"
	cat "$out/complaints"
	rp_expect_vrps "$out" "$RP_WORK/expected" || rc=1
	[ -s "$out/complaints" ] && rc=1
done
[ "$rc" = 0 ] && echo "=== clean: both validators agree with mkrepo"
exit "$rc"
