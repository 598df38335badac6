#!/bin/bash
#
# RFC 8183 + RFC 6492 between two cairnd instances, each with its own data
# directory (embedded PostgreSQL) and keys.  The parent runs TA -> RIR CA
# -> member m1 with its API listener; the child makes its child_request,
# the parent registers it with `cairn child add` (which answers with the
# parent_response), the child imports that and gets its certificate over
# RFC 6492, then issues ROAs.  Both export rsync trees under the same base
# URI, merged into the one module that rpki-client and FORT validate (no
# complaint, exactly the expected VRPs).  Then the parent shrinks and grows
# the child's entitlement: the child's own `cairnd run` picks the changes
# up on its schedule (installing the parent's shrunk certificate,
# re-requesting after the growth), the child rolls its key, and the result
# validates again.
#
#   rp_child.sh path/to/cairnd path/to/cairn
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
CAIRND=${1:?usage: $0 cairnd cairn}
CAIRN=${2:?usage: $0 cairnd cairn}
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
pdaemon=
cdaemon=

stop() {	# stop VAR: the daemon whose pid is in VAR
	local pid=${!1}
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		eval "$1="
	fi
}
show_logs() {
	local f
	[ "$failed" = 0 ] && [ "${1:-0}" = 0 ] && return
	for f in "$RP_WORK"/*.log "$RP_WORK"/*/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 30 "$f" >&2
	done
}

rp_init || exit 1
trap 'rc=$?; stop pdaemon; stop cdaemon; show_logs $rc; rp_cleanup' EXIT
# rsyncd holds its port from the start (the port is in every URI we sign),
# below the ephemeral range that the test's own connections use.
mkdir -p "$RP_WORK/tree"
port=
for _ in $(seq 20); do
	port=$((20000 + RANDOM % 12000))
	rp_port_free "$port" && rp_rsyncd_start "$RP_WORK/tree" "$port" && break
	port=
done
[ -n "$port" ] || { fail "no port for rsyncd"; exit 1; }
base=rsync://127.0.0.1:$port/repo/
P=$RP_WORK/p
C=$RP_WORK/c
for d in "$P" "$C"; do
	mkdir -p "$d/data" "$d/keys" && chmod 755 "$d" "$d/data" || exit 1
done

conf() {	# conf DIR API-PORT (0: no API)
	{
		printf 'data-dir = %s\n[hsm]\nbackend = file\nkey-dir = %s\n' \
		    "$1/data" "$1/keys"
		printf 'ee-pool = 4\n[repository]\nrsync-base = %s\n' "$base"
		printf 'export-dir = %s\n' "$1/tree"
		printf '[engine]\ntick = 1\nparent-sync = 2\n'
		if [ "$2" != 0 ]; then
			printf '[api]\nport = %s\n' "$2"
			printf 'updown-uri = http://127.0.0.1:%s/api/v1/updown/\n' "$2"
		fi
	} >"$1/cairnd.conf"
}
pd() { "$CAIRND" -c "$P/cairnd.conf" "$@"; }
cd_() { "$CAIRND" -c "$C/cairnd.conf" "$@"; }

conf "$P" 0
conf "$C" 0
cat >"$P/repo.txt" <<'REPO'
ta   ta    as=1-4294967295 v4=0.0.0.0/0 v6=::/0
ca   rir   ta   as=64496-64511 v4=10.0.0.0/8 v6=2001:db8::/32
ca   m1    rir  as=64496 v4=10.1.0.0/16
roa  m1    64496 10.1.0.0/16-24
REPO
# The child's cluster is made while the parent's is (two initdb at once):
# RFC 8183 child_request of a CA that has no parent yet.
cd_ parent request member "$C/request.xml" >"$C/request.log" 2>&1 &
req=$!
pd apply "$P/repo.txt" >"$P/apply.log" 2>&1 || { fail "parent apply"; exit 1; }
wait "$req" || { fail "parent request: $(cat "$C/request.log")"; exit 1; }
admin=$(pd token create --admin ops 2>"$P/token.log" | tail -n 1)
case $admin in cairn_*) ;; *) fail "no admin token: $admin"; exit 1 ;; esac
member=$(pd token create --ca m1 member-1 2>>"$P/token.log" | tail -n 1)
case $member in cairn_*) ;; *) fail "no member token: $member"; exit 1 ;; esac
export CAIRN_TOKEN=$admin

# The parent's daemon with its API (RFC 6492 service and provisioning).
up=0
for _ in 1 2 3 4 5; do
	aport=$(rp_free_port) || exit 1
	conf "$P" "$aport"
	"$CAIRND" -c "$P/cairnd.conf" run >"$P/run.log" 2>&1 &
	pdaemon=$!
	export CAIRN_URL=http://127.0.0.1:$aport
	rp_api_wait "$pdaemon" && up=1
	[ $up = 1 ] && break
	stop pdaemon
	grep -q "address already in use" "$P/run.log" || break
done
[ $up = 1 ] || { fail "the parent's API did not come up"; exit 1; }

# RFC 8183: child_request -> parent_response.
grep -q '<child_request ' "$C/request.xml" || fail "no child_request"
cd_ parent sync member >"$C/early.log" 2>&1 &&
    fail "sync before the parent_response was imported succeeded"
"$CAIRN" child add rir "$C/request.xml" --asn 64500-64501 \
    --ipv4 10.5.0.0/16 --ipv6 2001:db8:5::/48 >"$C/response.xml" \
    2>"$C/add.log" || { fail "cairn child add: $(cat "$C/add.log")"; exit 1; }
grep -q '<parent_response ' "$C/response.xml" || fail "no parent_response"
"$CAIRN" child add rir "$C/request.xml" --asn 64500 >/dev/null 2>&1 &&
    fail "registering the same child twice succeeded"
"$CAIRN" child add rir "$C/request.xml" --asn 65000 >/dev/null 2>&1 &&
    fail "an entitlement outside the parent's resources was accepted"
printf '<child_request/>\n' >"$C/bad.xml"
"$CAIRN" child add rir "$C/bad.xml" --asn 64500 >"$C/bad.log" 2>&1 &&
    fail "a malformed child_request was accepted"
grep -q 'child_request' "$C/bad.log" || fail "bad child_request: $(cat "$C/bad.log")"
# A member token of m1 does not see the children of its parent.
CAIRN_TOKEN=$member "$CAIRN" child list rir >/dev/null 2>&1 &&
    fail "a member token of m1 listed the children of rir"
CAIRN_TOKEN=$member "$CAIRN" child list m1 >/dev/null 2>&1 ||
    fail "a member token of m1 cannot list its own children"
"$CAIRN" child list rir >"$C/list.txt" 2>&1 || fail "cairn child list"
grep -q '^member ' "$C/list.txt" || fail "child list: $(cat "$C/list.txt")"
"$CAIRN" child response rir member >"$C/response2.xml" 2>&1 ||
    fail "cairn child response"
cmp -s "$C/response.xml" "$C/response2.xml" ||
    fail "child response differs from the one of child add"

cd_ parent import member "$C/response.xml" >"$C/import.log" 2>&1 ||
    { fail "parent import: $(cat "$C/import.log")"; exit 1; }
cd_ parent sync member >"$C/sync.log" 2>&1 ||
    { fail "parent sync: $(cat "$C/sync.log")"; exit 1; }
grep -q 'certificate installed' "$C/sync.log" || fail "sync: $(cat "$C/sync.log")"
cd_ parent show member >"$C/show-parent.txt" 2>&1 || fail "parent show"
grep -q '^entitlement  as=64500-64501 v4=10.5.0.0/16 v6=2001:db8:5::/48$' \
    "$C/show-parent.txt" || fail "parent show: $(cat "$C/show-parent.txt")"
grep -q '^last-error   -$' "$C/show-parent.txt" || fail "parent show: an error"
cd_ parent sync member >"$C/sync2.log" 2>&1 || fail "second sync"
grep -q 'up to date' "$C/sync2.log" || fail "second sync: $(cat "$C/sync2.log")"
"$CAIRN" child show rir member >"$C/show.txt" 2>&1 || fail "cairn child show"
grep -q '^cert ' "$C/show.txt" || fail "child show: no certificate"

cat >"$C/roas.txt" <<'REPO'
roa  member 64500 10.5.0.0/17-24
roa  member 64501 10.5.128.0/17 2001:db8:5::/48
REPO
cd_ apply "$C/roas.txt" >"$C/apply.log" 2>&1 ||
    { fail "child apply: $(cat "$C/apply.log")"; exit 1; }
cd_ tal ta >/dev/null 2>&1 && fail "the child has a trust anchor"
pd tal ta >"$RP_WORK/ta.tal" 2>"$P/tal.log" || fail "cairnd tal"

# The parent's daemon exports after each change; the child exports now.
wait_parent_export() {	# until the rsync tree has the child's current cert
	local want i
	want=$("$CAIRN" --json child show rir member | jq -r '.certificates[0].uri')
	want=${want#"$base"}
	for i in $(seq 100); do
		if [ -n "$want" ] && [ -f "$P/tree/current/$want" ] &&
		    [ "$(find "$P/tree/current/rir" -newer "$1" -name '*.mft' | wc -l)" -gt 0 ]; then
			return 0
		fi
		sleep 0.2
	done
	fail "the parent did not export $want"
	return 1
}
merge() {
	find "$RP_WORK/tree" -mindepth 1 -delete
	cp -a "$P/tree/current/." "$RP_WORK/tree/" &&
	    cp -a "$C/tree/current/." "$RP_WORK/tree/" &&
	    chmod -R a+rX "$RP_WORK/tree" "$RP_WORK/ta.tal"
}
validate() {	# validate NAME EXPECTED-FILE
	local v
	for v in rpki-client fort; do
		rp_validate "$v" rsync "$RP_WORK/ta.tal" "$RP_WORK/$1-$v" || exit 1
		echo "=== $1: $v VRPs"
		cat "$RP_WORK/$1-$v/vrps"
		rp_expect_vrps "$RP_WORK/$1-$v" "$2" || fail "$1: $v VRPs"
		rp_expect_clean "$RP_WORK/$1-$v" || fail "$1: $v complained"
	done
}

touch -d '-1 hour' "$RP_WORK/epoch"
wait_parent_export "$RP_WORK/epoch"
cd_ export "$C/tree" >"$C/export.log" 2>&1 || fail "child export"
merge || fail "merge"
printf '%s\n' 'AS64496 10.1.0.0/16 24' 'AS64500 10.5.0.0/17 24' \
    'AS64501 10.5.128.0/17 17' 'AS64501 2001:db8:5::/48 48' |
    LC_ALL=C sort >"$RP_WORK/expected1"
validate first "$RP_WORK/expected1"
n=$(jq -r '.metadata | "\(.certificates) \(.manifests) \(.roas)"' \
    "$RP_WORK/first-rpki-client/output/json")
[ "$n" = "4 4 3" ] || fail "rpki-client counts (certificates manifests roas): $n, not 4 4 3"

# The parent shrinks the entitlement: it re-issues the child's certificate
# over what is left at once; the child's daemon installs it on its next
# round and withdraws the ROA that fell outside.  Then the parent grows
# it: the child asks for a new certificate.
"$CAIRND" -c "$C/cairnd.conf" run >"$C/run.log" 2>&1 &
cdaemon=$!
touch "$RP_WORK/mark"
sleep 1
"$CAIRN" child resources rir member --asn 64500-64501 --ipv4 10.5.0.0/17 \
    --ipv6 2001:db8:5::/48 >"$C/shrink.log" 2>&1 ||
    fail "cairn child resources (shrink): $(cat "$C/shrink.log")"
wait_child() {	# wait_child N MARK: N rounds changed the certificate
	local i
	for i in $(seq 150); do
		if [ "$(grep -c 'new certificates from remote parents' \
		    "$C/run.log")" -ge "$1" ] &&
		    [ "$(find "$C/tree/current/member" -newer "$2" -name '*.mft' |
		    wc -l)" -gt 0 ]; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}
wait_child 1 "$RP_WORK/mark" ||
    fail "the child did not pick up the shrunk certificate"
touch "$RP_WORK/mark2"
sleep 1
"$CAIRN" child resources rir member --asn 64500-64501 \
    --ipv4 10.5.0.0/17,10.6.0.0/16 --ipv6 2001:db8:5::/48 >"$C/grow.log" 2>&1 ||
    fail "cairn child resources (grow): $(cat "$C/grow.log")"
wait_child 2 "$RP_WORK/mark2" && grep -q 'certified key' "$C/run.log" ||
    fail "the child did not re-request after the growth"
stop cdaemon
printf 'roa  member 64501 10.6.0.0/16-20\n' >"$C/roas2.txt"
cd_ apply "$C/roas2.txt" >"$C/apply2.log" 2>&1 ||
    fail "child apply after the growth: $(cat "$C/apply2.log")"
# A key roll of the child (RFC 6489 over RFC 6492): the parent certifies
# the new key on start and revokes the old one on finish.
ncerts() { "$CAIRN" --json child show rir member | jq '.certificates | length'; }
touch "$RP_WORK/mark3"
sleep 1
cd_ keyroll member start >"$C/roll.log" 2>&1 || fail "child keyroll start"
[ "$(ncerts)" = 2 ] || fail "after keyroll start the parent lists $(ncerts) certificates, not 2"
cd_ keyroll member activate-now >>"$C/roll.log" 2>&1 ||
    fail "child keyroll activate-now"
cd_ keyroll member finish >>"$C/roll.log" 2>&1 || fail "child keyroll finish"
[ "$(ncerts)" = 1 ] || fail "after keyroll finish the parent lists $(ncerts) certificates, not 1"
grep -q 'did not revoke' "$C/roll.log" && fail "keyroll finish: $(cat "$C/roll.log")"
cd_ parent sync member >"$C/sync3.log" 2>&1 || fail "sync after the key roll"
grep -q 'up to date' "$C/sync3.log" || fail "sync after the key roll: $(cat "$C/sync3.log")"
cd_ export "$C/tree" >"$C/export2.log" 2>&1 || fail "child export"
wait_parent_export "$RP_WORK/mark3"
merge || fail "merge"
printf '%s\n' 'AS64496 10.1.0.0/16 24' 'AS64500 10.5.0.0/17 24' \
    'AS64501 10.6.0.0/16 20' 'AS64501 2001:db8:5::/48 48' |
    LC_ALL=C sort >"$RP_WORK/expected2"
validate second "$RP_WORK/expected2"
# The old key's certificate, CRL and manifest are gone.
n=$(jq -r '.metadata | "\(.certificates) \(.manifests) \(.roas)"' \
    "$RP_WORK/second-rpki-client/output/json")
[ "$n" = "4 4 3" ] || fail "rpki-client counts after the key roll: $n, not 4 4 3"

# Removing the child withdraws its certificate at the parent.
"$CAIRN" child remove rir member >"$C/remove.log" 2>&1 || fail "cairn child remove"
"$CAIRN" child show rir member >/dev/null 2>&1 && fail "removed child still shown"

[ "$failed" = 0 ] && echo PASS
exit "$failed"
