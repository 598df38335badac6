#!/bin/bash
#
# Relying parties on a CA whose remote parent lists two resource classes.
# test_ca_child's test_two_classes (a parent made of two CAs behind one RFC
# 6492 identity) exports the repositories of both engines once the child
# holds both classes and a ROA in each (one AS, a prefix in each class:
# split into one ROA per class).  rpki-client and FORT fetch it over rsync
# and must accept the second class's publication point, a subdirectory of
# the CA's directory, and report the VRPs of both classes without
# complaint.
#
#   rp_child_classes.sh path/to/test_ca_child
#
# The test's URIs name rsync://127.0.0.1:8873/: everything runs in a network
# namespace of its own, where that port is free whatever else runs here.
set -u
# Where network namespaces cannot be made (no CAP_SYS_ADMIN, say in a
# container), the test runs here if nothing listens on that port.
if [ "${RP_NETNS:-}" != 1 ]; then
	if unshare -n true 2>/dev/null; then
		exec unshare -n env RP_NETNS=1 bash -c 'ip link set lo up &&
		    exec bash "$0" "$@"' "$0" "$@"
	fi
	if (exec 3<>/dev/tcp/127.0.0.1/8873) 2>/dev/null; then
		echo "FAIL: no network namespace, and port 8873 is in use" >&2
		exit 1
	fi
	echo "rp.child_classes: no network namespace; port 8873 is free here"
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
TEST=${1:?usage: $0 test_ca_child}
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

rp_init || exit 1
if ! CAIRN_CHILD_EXPORT=$RP_REPO CAIRN_CHILD_TAL=$RP_WORK/ta.tal "$TEST" \
    >"$RP_WORK/test.log" 2>&1; then
	cat "$RP_WORK/test.log" >&2
	echo "FAIL: test_ca_child" >&2
	exit 1
fi
[ -n "$(ls "$RP_REPO"/duo/second/*.roa 2>/dev/null)" ] ||
    fail "no ROA in the second class's point"
rp_rsyncd_start "$RP_REPO" 8873 || exit 1
printf '%s\n' "AS64505 10.8.0.0/16 16" "AS64505 10.9.0.0/16 24" |
    LC_ALL=C sort >"$RP_WORK/expected"
for rp in rpki-client fort; do
	rp_validate "$rp" rsync "$RP_WORK/ta.tal" "$RP_WORK/$rp" ||
	    { fail "$rp did not run"; continue; }
	cat "$RP_WORK/$rp/vrps"
	rp_expect_vrps "$RP_WORK/$rp" "$RP_WORK/expected" || fail "$rp: VRPs"
	rp_expect_clean "$RP_WORK/$rp" || fail "$rp: complaints"
done
[ "$failed" = 0 ] && echo "rp.child_classes: OK"
exit "$failed"
