#!/bin/bash
#
# cairnd run's export-dir (no cairn-pubd): each change swaps in a new
# complete tree (current -> trees/N) in which only the files that changed
# are new (every other file is the same inode, with the same mtime, as in
# the previous tree), the previous tree stays for rsync transfers that
# started on it, a withdrawn ROA disappears, the tree always equals a full
# export (cairnd export), and a tree tampered with while the daemon was
# down is repaired when it starts.
#
#   cairnd_export.sh path/to/cairnd path/to/cairn
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
CAIRND=${1:?usage: $0 cairnd cairn}
CAIRN=${2:?usage: $0 cairnd cairn}
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

rp_init || exit 1
trap 'rc=$?; stop_daemon; [ "$failed$rc" = 00 ] || tail -n 30 "$RP_WORK/run.log" >&2; rp_cleanup' EXIT
mkdir -p "$RP_WORK/data" "$RP_WORK/keys"
chmod 755 "$RP_WORK/data"
T=$RP_WORK/export/current
write_conf() {
cat >"$RP_WORK/cairnd.conf" <<CONF
data-dir = $RP_WORK/data
log-level = info
[hsm]
backend = file
key-dir = $RP_WORK/keys
ee-pool = 4
[repository]
rsync-base = rsync://127.0.0.1:8873/repo/
export-dir = $RP_WORK/export
[engine]
tick = 1
[api]
port = $1
CONF
}
cairnd() { "$CAIRND" -c "$RP_WORK/cairnd.conf" "$@"; }
write_conf 0
cat >"$RP_WORK/repo.txt" <<'REPO'
ta   ta   as=1-4294967295 v4=0.0.0.0/0 v6=::/0
ca   rir  ta   as=64496-64511 v4=10.0.0.0/8 v6=2001:db8::/32
ca   m1   rir  as=64496-64499 v4=10.1.0.0/16 v6=
ca   m2   rir  as=64500 v4=10.2.0.0/16 v6=
roa  m1   64496 10.1.0.0/17
roa  m1   64497 10.1.128.0/17
roa  m2   64500 10.2.0.0/16
REPO
cairnd apply "$RP_WORK/repo.txt" >"$RP_WORK/apply.log" 2>&1 ||
    { cat "$RP_WORK/apply.log" >&2; fail "cairnd apply"; exit 1; }
admin=$(cairnd token create --admin ops 2>"$RP_WORK/token.log" | tail -n 1)
case $admin in cairn_*) ;; *) fail "no admin token: $admin"; exit 1 ;; esac
export CAIRN_TOKEN=$admin

# Starts the daemon on a free loopback port (another test may take the
# port first: then another one) and waits for its API.
start_daemon() {
	local port up=0
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 12768))
		rp_port_free "$port" || continue
		write_conf "$port"
		"$CAIRND" -c "$RP_WORK/cairnd.conf" run >>"$RP_WORK/run.log" 2>&1 &
		daemon=$!
		export CAIRN_URL=http://127.0.0.1:$port
		rp_api_wait "$daemon" && up=1
		[ $up = 1 ] && return 0
		stop_daemon
	done
	fail "cairnd run did not serve the API"
	exit 1
}

DELTA='exported .*/current: [0-9]+ objects, [0-9]+ written, [0-9]+ unchanged'
nlog() { grep -c -E -- "$1" "$RP_WORK/run.log"; }
# wait_log N PATTERN: until the run log has N lines matching PATTERN.
wait_log() {
	for _ in $(seq 150); do
		[ "$(grep -c -E -- "$2" "$RP_WORK/run.log")" -ge "$1" ] && return 0
		sleep 0.2
	done
	fail "run log: no $1 lines /$2/"
	return 1
}

# Every file of the tree: path, inode, mtime.
snap() { (cd "$T" && find . -type f -printf '%P %i %T@\n' | sort) >"$1"; }
# The lines of $1 whose path is also in $2 with the same inode and mtime.
same() { comm -12 "$1" "$2"; }
roas() { (cd "$T" && find m1 -name '*.roa' | sort); }

# The whole tree at start.
start_daemon
wait_log 1 "$DELTA" || exit 1
[ "$(roas | wc -l)" = 2 ] || fail "m1 has not two ROAs: $(roas)"
[ -L "$T" ] || fail "current is not a symlink to a tree"
[ -d "$T/ta" ] || fail "current has no ta/"
tree0=$(readlink "$T")
snap "$RP_WORK/s0"
roas >"$RP_WORK/roas0"

# One ROA changes: only m1's ROA of AS64496, manifest and CRL are written.
n=$(nlog "$DELTA")
"$CAIRN" roa add m1 64496 10.1.64.0/18 >/dev/null 2>"$RP_WORK/err" ||
    fail "roa add: $(cat "$RP_WORK/err")"
wait_log $((n + 1)) "$DELTA" || exit 1
sleep 2		# a second export would be a bug: the checks below see it
snap "$RP_WORK/s1"
[ "$(readlink "$T")" != "$tree0" ] || fail "no new tree swapped in"
# The previous tree, whole, for the transfers that started on it.
(cd "$RP_WORK/export/$tree0" && find . -type f -printf '%P %i %T@\n' |
    sort) | cmp -s - "$RP_WORK/s0" || fail "the previous tree $tree0 changed"
same "$RP_WORK/s0" "$RP_WORK/s1" >"$RP_WORK/same1"
changed=$(comm -23 "$RP_WORK/s1" "$RP_WORK/same1" | cut -d' ' -f1)
echo "changed after the ROA change:" $changed
for f in $changed; do
	case $f in
	m1/*.roa|m1/*.mft|m1/*.crl) ;;
	*) fail "$f was rewritten, but did not change" ;;
	esac
done
[ "$(echo "$changed" | grep -c '\.roa$')" = 1 ] ||
    fail "not exactly one ROA rewritten: $changed"
[ "$(echo "$changed" | grep -c '\.mft$')" = 1 ] || fail "manifest not rewritten"
# Everything outside m1 and m1's other ROA: same inode, same mtime.
[ "$(grep -v '^m1/' "$RP_WORK/s0" | wc -l)" -gt 5 ] || fail "too few files"
grep -v '^m1/' "$RP_WORK/s0" | comm -23 - "$RP_WORK/same1" | grep . &&
    fail "files outside m1 changed"
[ "$(roas | wc -l)" = 2 ] || fail "m1 has not two ROAs after the change"
other=$(comm -12 "$RP_WORK/roas0" <(roas))
[ -n "$other" ] && grep -q "^$other " "$RP_WORK/same1" ||
    fail "the other ROA ($other) was rewritten"

# The same tree as a full export from scratch.
cairnd export "$RP_WORK/full" >"$RP_WORK/export.log" 2>&1 ||
    fail "cairnd export: $(cat "$RP_WORK/export.log")"
diff -r "$T" "$RP_WORK/full/current" >"$RP_WORK/diff" 2>&1 ||
    fail "incremental tree differs from a full export: $(head "$RP_WORK/diff")"

# A ROA withdrawn: its file disappears, the rest of m1 stays in place.
n=$(nlog "$DELTA")
"$CAIRN" roa remove m1 64497 10.1.128.0/17 >/dev/null 2>"$RP_WORK/err" ||
    fail "roa remove: $(cat "$RP_WORK/err")"
wait_log $((n + 1)) "$DELTA" || exit 1
sleep 2
[ -e "$T/$other" ] && fail "the withdrawn ROA $other is still there"
[ "$(roas | wc -l)" = 1 ] || fail "m1 has not one ROA left: $(roas)"
snap "$RP_WORK/s2"
kept=$(roas)
grep -q "^$kept " <(same "$RP_WORK/s1" "$RP_WORK/s2") ||
    fail "the remaining ROA $kept was rewritten"
grep -v '^m1/' "$RP_WORK/s1" | comm -23 - "$RP_WORK/s2" | grep . &&
    fail "files outside m1 changed with the withdrawal"
rm -rf "$RP_WORK/full"
cairnd export "$RP_WORK/full" >"$RP_WORK/export.log" 2>&1 ||
    fail "cairnd export: $(cat "$RP_WORK/export.log")"
diff -r "$T" "$RP_WORK/full/current" >"$RP_WORK/diff" 2>&1 ||
    fail "tree after the withdrawal differs: $(head "$RP_WORK/diff")"

# Tampered with while the daemon is down: repaired when it starts.
stop_daemon
crl=$(cd "$T" && ls rir/*.crl | head -n 1)
chmod u+w "$T/$kept"
echo garbage >>"$T/$kept"
rm -f "$T/$crl"
echo stray >"$T/m1/stray.roa"
cmp -s "$T/$kept" "$RP_WORK/full/current/$kept" && fail "tampering did nothing"
n=$(nlog "$DELTA")
start_daemon
wait_log $((n + 1)) "$DELTA" || exit 1
grep -q 'export: .*: 1 damaged or stale content-store entries removed' \
    "$RP_WORK/run.log" || fail "the edited file's store entry was not dropped"
cmp "$T/$kept" "$RP_WORK/full/current/$kept" || fail "$kept not repaired"
[ -f "$T/$crl" ] || fail "$crl not restored"
[ -e "$T/m1/stray.roa" ] && fail "stray file not removed"
diff -r "$T" "$RP_WORK/full/current" >"$RP_WORK/diff" 2>&1 ||
    fail "tree after the restart differs: $(head "$RP_WORK/diff")"
[ "$(stat -c %a "$T/$kept")" = 444 ] || fail "$kept is writable"
stop_daemon

[ "$failed" = 0 ] && echo PASS
exit "$failed"
