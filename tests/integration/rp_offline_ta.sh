#!/bin/bash
#
# An offline trust anchor (docs/offline-ta.md).  Two cairnd instances with
# their own data directories and SoftHSM2 tokens: "ta" holds only the trust
# anchor and never touches the network or the repository; "on" runs the
# RIR CA rir as the TA's delegated child, its member CAs, and cairn-pubd on
# its cluster.  Everything between them travels as files: RFC 8183
# child_request/parent_response, then request and response files of RFC
# 6492 messages, the responses carrying the TA's publication points, which
# the online side publishes for it.
#
# After each step rpki-client and FORT validate the repository over RRDP
# (and rsync) with the offline side's TAL: no complaint, exactly the VRPs
# configured.  Steps: first certificate; members and ROAs; the TA shrinks
# rir's entitlement (one member falls outside: its ROA goes in the same
# RRDP serial as the TA's new certificate for rir); a key roll of rir
# across exchanges; a refresh of the TA's manifest with no request; a key
# roll of the TA itself (RFC 9691), validated with the old and the new TAL;
# the TA takes all of rir's resources (rir's publication point goes).  Bad
# files are refused and change nothing: a replayed response, an older
# one, a tampered object (in a refresh, and in a response whose replies
# verify: the genuine file imports afterwards), another child's response,
# a request not for this TA, malformed JSON.
#
#   rp_offline_ta.sh path/to/cairnd path/to/cairn-pubd
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../rp/rp.sh"
. "$here/rp_cairn_lib.sh"
CAIRND=${1:?usage: $0 cairnd cairn-pubd}
PUBD=${2:?usage: $0 cairnd cairn-pubd}

rpc_init

# The online side: cairnd and cairn-pubd on one embedded cluster.
ON=$W/on
TA=$W/ta
mkdir -p "$ON" "$TA"
rp_cairnd_setup "$ON" "$base" "notify-uri = $NOTIFY
https-base = $HTTPS" || exit 1
# The offline side: a token of its own in the same SoftHSM2 directory, the
# same repository URIs (its objects are published by the online side), and
# manifests that last between exchanges (5 days here, so that the online
# daemon's warning, given within 7 days of expiry, can be seen at once).
softhsm2-util --init-token --free --label cairn-ta --pin 5678 \
    --so-pin 87654321 >/dev/null || { echo "FAIL: TA token" >&2; exit 1; }
printf '5678\n' >"$TA/pin" && chmod 600 "$TA/pin"
mkdir -p "$TA/data" && chmod 755 "$TA" "$TA/data"
sed -e "s|^data-dir = .*|data-dir = $TA/data|" -e 's/^token = .*/token = cairn-ta/' \
    -e "s|^pin-file = .*|pin-file = $TA/pin|" "$ON/cairnd.conf" >"$TA/cairnd.conf"
printf '[schedule]\nmanifest-validity = 5d\nmanifest-reissue-after = 2d\n' \
    >>"$TA/cairnd.conf"
printf 'manifest-jitter = 1h\n' >>"$TA/cairnd.conf"
rpc_pubd_conf "$ON/data"
on() { "$CAIRND" -c "$ON/cairnd.conf" "$@"; }
ta() { "$CAIRND" -c "$TA/cairnd.conf" "$@"; }
must() {	# must LOG-NAME command...: runs it, fails the test if it fails
	local log=$W/$1.log
	shift
	"$@" >"$log" 2>&1 || { fail "$*: $(cat "$log")"; return 1; }
}
refused() {	# refused LOG-NAME REGEX command...: must fail, saying REGEX
	local log=$W/$1.log re=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		fail "$* succeeded"
	elif ! grep -q -E -- "$re" "$log"; then
		fail "$*: no /$re/ in: $(cat "$log")"
	fi
}

# ---- set-up: the TA, the RIR CA as its child (RFC 8183 in files) ------
printf 'ta ta as=1-4294967295 v4=0.0.0.0/0 v6=::/0\n' >"$TA/repo.txt"
# Both clusters are made at once (two initdb).
on parent request rir "$W/child_request.xml" >"$W/request.log" 2>&1 &
req=$!
must ta-apply ta apply "$TA/repo.txt" || exit 1
wait "$req" || { fail "parent request: $(cat "$W/request.log")"; exit 1; }
ta tal ta >"$W/ta.tal" 2>"$W/tal.log" || { fail "tal: $(cat "$W/tal.log")"; exit 1; }
must child-add ta child add ta "$W/child_request.xml" "$W/parent_response.xml" \
    as=64496-64511 v4=10.0.0.0/8 v6=2001:db8::/32 || exit 1
grep -q 'offline.invalid' "$W/parent_response.xml" ||
    fail "the parent_response does not say the TA is offline"
refused child-twice 'exists|taken|already' ta child add ta \
    "$W/child_request.xml" "$W/x.xml" as=64496
must import-response on parent import rir "$W/parent_response.xml" --offline ||
    exit 1
refused sync-offline 'offline' on parent sync rir

# One exchange: request on the online side, answer on the TA's, import.
n=0
exchange() {
	n=$((n + 1))
	must "req$n" on parent offline-request rir "$W/req$n.json" || return 1
	must "answer$n" ta offline answer ta "$W/req$n.json" "$W/resp$n.json" ||
	    return 1
	must "import$n" on parent offline-import rir "$W/resp$n.json"
}
exchange || exit 1
grep -q '1 certificates installed' "$W/import1.log" ||
    fail "first exchange: $(cat "$W/import1.log")"
must show on parent show rir
grep -q '^entitlement  as=64496-64511 v4=10.0.0.0/8 v6=2001:db8::/32$' \
    "$W/show.log" || fail "parent show: $(cat "$W/show.log")"
grep -q '^mode         offline' "$W/show.log" || fail "parent show: not offline"
grep -q '^parent-mft   valid until 20' "$W/show.log" ||
    fail "parent show: no manifest date: $(cat "$W/show.log")"

# Bad files change nothing.
refused replay 'replayed|not after' on parent offline-import rir "$W/resp1.json"
printf '{"type": "cairn-offline-response"' >"$W/broken.json"
refused broken 'not JSON' on parent offline-import rir "$W/broken.json"
jq '.child = "other"' "$W/resp1.json" >"$W/other.json"
refused other-child 'not of ta to' on parent offline-import rir "$W/other.json"
jq '.parent = "elsewhere"' "$W/req1.json" >"$W/elsewhere.json"
refused wrong-ta 'addressed to elsewhere' ta offline answer ta \
    "$W/elsewhere.json" "$W/x.json"
refused request-as-response 'type' on parent offline-import rir "$W/req1.json"

# Members and ROAs below rir, online.
cat >"$ON/repo.txt" <<'REPO'
ca   m1   rir  as=64496 v4=10.1.0.0/16
ca   m2   rir  as=64497 v4=10.200.0.0/16 v6=2001:db8:2::/48
roa  m1   64496 10.1.0.0/16-24
roa  m2   64497 10.200.0.0/16 2001:db8:2::/48
REPO
must on-apply on apply "$ON/repo.txt" || exit 1

# The online daemon warns that the TA's manifest runs out within 7 days.
# (Before cairn-pubd starts: the daemon stops the embedded PostgreSQL that
# it started when it exits; the next command starts it again.)
"$CAIRND" -c "$ON/cairnd.conf" run >"$W/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 100); do
	grep -q 'offline parent ta: its manifest at .* expires at' "$W/run.log" &&
	    break
	sleep 0.2
done
kill "$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null
grep -q "offline parent ta: its manifest at ${base}ta/ expires at" \
    "$W/run.log" || fail "no expiry warning: $(tail -n 5 "$W/run.log")"

# The TA certificate for the RRDP TAL comes from the online export.
rpc_rrdp_tal "$ON/cairnd.conf" "$W/ta-rrdp.tal"
cmp -s "$W/export/current/ta-ta/ta.cer" "$W/static/ta.cer" ||
    { fail "the TA certificate is not published online"; exit 1; }
chmod 644 "$W/ta.tal"
rp_rsyncd_start "$W/pubrsync/current" "$RPORT" || exit 1
rpc_pubd_start
rpc_settle 0
TAL_RRDP=$W/ta-rrdp.tal
TAL_RSYNC=$W/ta.tal
check() {	# check NAME [SKIP]: both validators, both transports, EXPECTED
	local v t
	for v in rpki-client fort; do
		for t in rrdp rsync; do
			[ "$v-$t" = "${2:-}" ] && continue
			[ "$t" = rrdp ] && tal=$TAL_RRDP || tal=$TAL_RSYNC
			rpc_validate "$v" "$t" "$tal" "$W/out/$1-$v-$t" \
			    "$W/expected" "$1: $v over $t"
		done
	done
}
printf '%s\n' 'AS64496 10.1.0.0/16 24' 'AS64497 10.200.0.0/16 16' \
    'AS64497 2001:db8:2::/48 48' | LC_ALL=C sort >"$W/expected"
check first


# A tampered object in a response: refused, nothing published.
must refresh-t ta offline refresh ta "$W/refresh-t.json"
jq '(.objects[] | select(.uri | endswith(".crl")) | .der) |= (.[0:40] +
    (if .[40:41] == "A" then "B" else "A" end) + .[41:])' \
    "$W/refresh-t.json" >"$W/tampered.json"
cmp -s "$W/refresh-t.json" "$W/tampered.json" && fail "jq did not tamper"
refused tampered 'hash differs|not signed' on parent offline-import rir \
    "$W/tampered.json"

# The TA shrinks rir: m2's prefixes fall outside.  The TA's new
# certificate for rir and what rir re-issues below it are one serial.
must shrink ta child resources ta rir as=64496-64511 v4=10.0.0.0/9 \
    v6=2001:db8:1::/48
s0=$(rpc_serial)
# First a tampered copy of the response (rir's new certificate in the TA's
# point altered): the replies verify, but the import is one transaction,
# so nothing of it stays, and the genuine response imports afterwards.
n=$((n + 1))
must "req$n" on parent offline-request rir "$W/req$n.json" || exit 1
must "answer$n" ta offline answer ta "$W/req$n.json" "$W/resp$n.json" || exit 1
jq '(.objects[] | select(.uri | test("/ta/[^/]*[.]cer$")) | .der) |=
    (.[0:60] + (if .[60:61] == "A" then "B" else "A" end) + .[61:])' \
    "$W/resp$n.json" >"$W/tampered2.json"
refused tampered-replies 'hash differs' on parent offline-import rir \
    "$W/tampered2.json"
sleep 2
[ "$(rpc_serial)" = "$s0" ] || fail "a refused import was published"
must "import$n" on parent offline-import rir "$W/resp$n.json" || exit 1
rpc_settle "$s0"
[ "$(rpc_serial)" = $((s0 + 1)) ] ||
    fail "the shrink took serials $s0..$(rpc_serial), not one"
d=$(curl -s --cacert "$RP_HTTPS_CA" "$NOTIFY" |
    sed -n "s/.*<delta serial=\"$((s0 + 1))\" uri=\"\([^\"]*\)\".*/\1/p")
curl -s --cacert "$RP_HTTPS_CA" "$d" >"$W/delta-shrink.xml"
grep -q "uri=\"${base}ta/[0-9a-f]*\.cer\"" "$W/delta-shrink.xml" ||
    fail "the shrink's delta lacks the TA's new certificate for rir"
grep -q "uri=\"${base}m2/" "$W/delta-shrink.xml" ||
    fail "the shrink's delta lacks m2's changes"
printf '%s\n' 'AS64496 10.1.0.0/16 24' | LC_ALL=C sort >"$W/expected"
check shrink

# A key roll of rir across exchanges: the new key waits for its
# certificate, then the old one is revoked at the TA.
must roll-start on keyroll rir start
refused roll-early 'no certificate yet' on keyroll rir activate-now
exchange || exit 1
grep -q '2 certificates installed' "$W/import$n.log" ||
    fail "roll exchange: $(cat "$W/import$n.log")"
must roll-activate on keyroll rir activate-now
must roll-finish on keyroll rir finish
s0=$(rpc_serial)
exchange || exit 1
grep -q '1 revoked' "$W/import$n.log" ||
    fail "the old key was not revoked: $(cat "$W/import$n.log")"
rpc_settle "$s0"
jq -r '.objects[].uri' "$W/resp$n.json" | grep -c '/ta/.*\.cer$' >"$W/ncer"
[ "$(cat "$W/ncer")" = 1 ] ||
    fail "the TA lists $(cat "$W/ncer") certificates for rir after the roll"
check roll

# A refresh: a fresh TA manifest and CRL, no request.  An older response
# imported afterwards is refused.
must refresh ta offline refresh ta "$W/refresh.json"
s0=$(rpc_serial)
must import-refresh on parent offline-import rir "$W/refresh.json"
grep -q 'valid until' "$W/import-refresh.log" ||
    fail "refresh import: $(cat "$W/import-refresh.log")"
rpc_settle "$s0"
refused older 'is older than the one published' on parent offline-import rir \
    "$W/refresh-t.json"
check refresh

# The TA rolls its key (RFC 9691) on the offline side.  The next response
# carries both keys' points; the TAK in the old one names the new key, so
# the online side checks and publishes the new point too.  Relying parties
# with either TAL see the same VRPs; after finish, the new TAL.
must ta-roll-start ta ta-keyroll ta start || exit 1
ta tal ta --next >"$W/ta-next.tal" 2>"$W/tal-next.log" ||
    fail "tal --next: $(cat "$W/tal-next.log")"
cmp -s "$W/ta.tal" "$W/ta-next.tal" && fail "tal --next is the old TAL"
s0=$(rpc_serial)
exchange || exit 1
grep -q 'rolling its key' "$W/import$n.log" ||
    fail "roll not seen: $(cat "$W/import$n.log")"
rpc_settle "$s0"
must export2 on export "$W/export2" || exit 1
nextcer=$(sed -n 's|^https://.*/\([^/]*\.cer\)$|\1|p' "$W/ta-next.tal")
[ -n "$nextcer" ] && [ -f "$W/export2/current/ta-ta/$nextcer" ] ||
    { fail "the new TA certificate $nextcer is not published online"; exit 1; }
chmod 644 "$W/ta-next.tal"
serve_static() {	# serve_static FILE: the TA certificate at its https URI
	cp "$1" "$W/static/$nextcer" && chmod 644 "$W/static/$nextcer"
	# cairn-pubd reads static-dir when it starts.
	rp_https_stop
	rpc_pubd_start
	for _ in $(seq 100); do
		curl -s --cacert "$RP_HTTPS_CA" "${HTTPS}$nextcer" |
		    cmp -s - "$1" && return 0
		sleep 0.2
	done
	fail "cairn-pubd does not serve $nextcer"
}
serve_static "$W/export2/current/ta-ta/$nextcer"
check ta-roll-old
TAL_RRDP=$W/ta-next.tal
TAL_RSYNC=$W/ta-next.tal
# FORT 1.5.4 over RRDP with the new TAL during the roll: the products of
# rir name rir's certificate in the old key's point in their AIA, and FORT
# reads that issuer from its rsync cache path even in RRDP mode, where the
# file is under the RRDP cache (it is in the snapshot).  With rsync, with
# the old TAL, and after finish FORT validates; rpki-client does not use
# the AIA.  That exact complaint, and nothing else, is expected here.
check ta-roll-new fort-rrdp
o=$W/out/ta-roll-new-fort-rrdp
rp_validate fort rrdp "$TAL_RRDP" "$o" || exit 1
rp_expect_complaint "$o" "calling fopen\(.*/cache/127\.0\.0\.1:$RPORT/repo/ta/[0-9a-f]+\.cer" ||
    fail "FORT over RRDP with the new TAL: not the known AIA lookup"
# The five lines of that one error name rir's manifest; nothing else.
grep -v -E 'exit code|/repo/rir/[0-9a-f]+\.mft: (Error reading certificate|libcrypto error stack|-> |End of libcrypto)' \
    "$o/complaints" >"$o/other"
[ -s "$o/other" ] && fail "FORT over RRDP with the new TAL: $(cat "$o/other")"
find "$o/cache" -path "*/repo/ta/*.cer" | grep -q . ||
    fail "the issuer FORT looks for is not in its RRDP cache"
must ta-roll-finish ta ta-keyroll ta finish --force || exit 1
s0=$(rpc_serial)
exchange || exit 1
rpc_settle "$s0"
jq -r '.objects[].uri' "$W/resp$n.json" | grep -q '/ta-ta/ta\.cer$' &&
    fail "the old TA certificate is still in the response after finish"
# finish re-issued the new key's certificate (now over the TA's own point).
must export3 on export "$W/export3" || exit 1
cmp -s "$W/export3/current/ta-ta/$nextcer" "$W/static/$nextcer" &&
    fail "finish did not re-issue the new TA certificate"
serve_static "$W/export3/current/ta-ta/$nextcer"
check ta-roll-finished

# The TA takes everything: rir's certificate goes, so does everything rir
# publishes, and the import says so (the issue is refused: exit 1).
must empty ta child resources ta rir as= v4= v6=
n=$((n + 1))
must "req$n" on parent offline-request rir "$W/req$n.json" || exit 1
must "answer$n" ta offline answer ta "$W/req$n.json" "$W/resp$n.json" || exit 1
s0=$(rpc_serial)
refused "import$n" 'refused 1 messages' on parent offline-import rir \
    "$W/resp$n.json"
grep -q 'entitles it to nothing' "$W/import$n.log" ||
    fail "emptied: $(cat "$W/import$n.log")"
rpc_settle "$s0"
: >"$W/expected"
check emptied

[ "$failed" = 0 ] && echo PASS
exit "$failed"
