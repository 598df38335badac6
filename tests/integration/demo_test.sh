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
rport=$(rp_free_port) && hport=$(rp_free_port) && aport=$(rp_free_port) &&
    [ "$rport" != "$hport" ] && [ "$aport" != "$rport" ] && [ "$aport" != "$hport" ] ||
    { echo "FAIL: no free ports" >&2; exit 1; }
export DEMO_DIR=$dir DEMO_RSYNC_PORT=$rport DEMO_HTTPS_PORT=$hport DEMO_API_PORT=$aport
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
# The hierarchy was made through the API with the cairn CLI.
for c in "ta create ta" "ca create rir --parent ta" "ca create acme --parent rir" \
    "ca create globex" "ca create initech" "roa add globex AS64501 192.0.2.0/24" \
    "aspa set acme AS64496 64500,64501"; do
	grep -q "^  cairn $c" "$dir.up.log" || fail "up did not run 'cairn $c'"
done
[ "$(stat -c %a "$dir/admin.token")" = 600 ] || fail "admin.token is not mode 600"

# Our own validator run over RRDP, as a user of the demo would do it.
RP_WORK=$dir
RP_HTTPS_CA=$dir/tls-ca.pem
rp_validate rpki-client rrdp "$dir/ta.tal" "$dir/check" || fail "rpki-client run"
tr ' ' ',' <"$dir/check/vrps" | LC_ALL=C sort -u >"$dir/check/vrps.csv"
diff -u "$dir/expected-vrps.csv" "$dir/check/vrps.csv" ||
    fail "rpki-client's VRPs differ from expected-vrps.csv"

"$src/deploy/demo.sh" up >"$dir.up2.log" 2>&1 || { cat "$dir.up2.log"; fail "a second up failed"; }
# Nothing is made twice: no create or add the second time.
grep -E "^  cairn .*(create|add) " "$dir.up2.log" && fail "a second up created again"
grep -q "^demo-dir: $dir" "$dir.up2.log" || fail "second up: no demo-dir line"
# apply goes through the CLI too, and only adds what is new.
printf 'roa acme 64496 10.1.64.0/18-24 10.1.0.0/16-24\n' >"$dir.more.txt"
"$src/deploy/demo.sh" apply "$dir.more.txt" >"$dir.apply.log" 2>&1 ||
    { cat "$dir.apply.log"; fail "apply failed"; }
[ "$(grep -c "^  cairn roa add" "$dir.apply.log")" = 1 ] ||
    fail "apply: not exactly one ROA added: $(cat "$dir.apply.log")"
[ "$(wc -l <"$dir/expected-vrps.csv")" = 8 ] || fail "after apply: not 8 expected VRPs"
CAIRN_URL=http://127.0.0.1:$aport CAIRN_TOKEN=$(cat "$dir/admin.token") \
    "$bdir/api/cairn" roa list acme | grep -q "^AS64496 *10.1.64.0/18 *24" ||
    fail "apply: the ROA is not configured"
rm -f "$dir.more.txt" "$dir.apply.log"
pids=$(cat "$dir"/*.pid 2>/dev/null)
"$src/deploy/demo.sh" down || fail "down failed"
sleep 3
for p in $pids; do
	kill -0 "$p" 2>/dev/null && fail "process $p still runs after down"
done
rm -f "$dir.up.log" "$dir.up2.log"
[ "$failed" = 0 ] && echo PASS
exit "$failed"
