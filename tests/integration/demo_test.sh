#!/bin/bash
#
# The README's first command, as a test: deploy/demo.sh up (on the binaries
# of this build, private ports and directory) must end with "demo-dir: DIR"
# holding ta.tal, tls-ca.pem, expected-vrps.csv and expected-aspa.txt; the
# demo's own check (rpki-client and FORT over RRDP and rsync, VRPs compared
# with expected-vrps.csv) must pass; then rpki-client run here against
# ta.tal over RRDP must give exactly expected-vrps.csv; "up" again must be
# harmless; "down" must stop every process it started.
#
#   demo_test.sh SOURCE-DIR BUILD-DIR
set -u
src=${1:?usage: $0 source-dir build-dir}
bdir=${2:?usage: $0 source-dir build-dir}
. "$src/tests/rp/rp.sh"
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

dir=$(mktemp -d /var/lib/cairn-demo-test.XXXXXX) || exit 1
chmod 755 "$dir"
rport=$(rp_free_port) && hport=$(rp_free_port) && [ "$rport" != "$hport" ] ||
    { echo "FAIL: no free ports" >&2; exit 1; }
export DEMO_DIR=$dir DEMO_RSYNC_PORT=$rport DEMO_HTTPS_PORT=$hport
export DEMO_SKIP_DEPS=1 DEMO_SKIP_BUILD=1 DEMO_BUILD_DIR=$bdir
cleanup() {
	"$src/deploy/demo.sh" down >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

"$src/deploy/demo.sh" up >"$dir.up.log" 2>&1
rc=$?
cat "$dir.up.log"
[ "$rc" = 0 ] || fail "demo.sh up exited $rc"
got=$(sed -n 's/^demo-dir: //p' "$dir.up.log" | tail -n 1)
[ "$got" = "$dir" ] || fail "no 'demo-dir: $dir' line (got '$got')"
for f in ta.tal tls-ca.pem expected-vrps.csv expected-aspa.txt; do
	[ -s "$dir/$f" ] || fail "$dir/$f is missing or empty"
done
grep -q "^https://127.0.0.1:$hport/" "$dir/ta.tal" || fail "ta.tal has no https URI"
grep -q "^rsync://127.0.0.1:$rport/" "$dir/ta.tal" || fail "ta.tal has no rsync URI"
[ "$(wc -l <"$dir/expected-vrps.csv")" = 7 ] || fail "expected-vrps.csv: not 7 VRPs"

# Our own validator run over RRDP, as a user of the demo would do it.
RP_WORK=$dir
RP_HTTPS_CA=$dir/tls-ca.pem
rp_validate rpki-client rrdp "$dir/ta.tal" "$dir/check" || fail "rpki-client run"
tr ' ' ',' <"$dir/check/vrps" | LC_ALL=C sort -u >"$dir/check/vrps.csv"
diff -u "$dir/expected-vrps.csv" "$dir/check/vrps.csv" ||
    fail "rpki-client's VRPs differ from expected-vrps.csv"

"$src/deploy/demo.sh" up >"$dir.up2.log" 2>&1 || fail "a second up failed"
pids=$(cat "$dir"/*.pid 2>/dev/null)
"$src/deploy/demo.sh" down || fail "down failed"
sleep 3
for p in $pids; do
	kill -0 "$p" 2>/dev/null && fail "process $p still runs after down"
done
rm -f "$dir.up.log" "$dir.up2.log"
[ "$failed" = 0 ] && echo PASS
exit "$failed"
