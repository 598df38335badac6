#!/bin/bash
#
# The cairn CLI against a live `cairnd run` with its API listener: an
# embedded PostgreSQL and file-backend keys in a scratch directory, tokens
# made with `cairnd token`, then every kind of cairn command, checking the
# output and the exit codes (0 done, 1 refused, 2 usage, 3 unreachable).
#
#   cli_api.sh path/to/cairnd path/to/cairn
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

DATA=$here/../data
rp_init || exit 1
trap 'rc=$?; stop_daemon; [ "$failed$rc" = 00 ] || tail -n 30 "$RP_WORK/run.log" >&2; rp_cleanup' EXIT
mkdir -p "$RP_WORK/data" "$RP_WORK/keys"
chmod 755 "$RP_WORK/data"
write_conf() {
cat >"$RP_WORK/cairnd.conf" <<CONF
data-dir = $RP_WORK/data
[hsm]
backend = file
key-dir = $RP_WORK/keys
ee-pool = 4
[repository]
rsync-base = rsync://127.0.0.1:8873/repo/
notify-uri = https://rrdp.example.net/notification.xml
rfc8181-service-uri = https://pub.example.net/rfc8181/
rfc8181-bpki-cert = $RP_WORK/repo-bpki.pem
[engine]
tick = 1
[api]
port = $1
CONF
}
write_conf 0
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$RP_WORK/repo-bpki.key" \
    -subj "/CN=repository" -days 30 -out "$RP_WORK/repo-bpki.pem" 2>/dev/null ||
    { fail "openssl req -x509"; exit 1; }
cat >"$RP_WORK/repo.txt" <<'REPO'
ta   ta                       as=1-4294967295 v4=0.0.0.0/0 v6=::/0
ca   rir  ta                  as=64496-64511 v4=10.0.0.0/8,192.0.2.0/24 v6=2001:db8::/32
ca   m1   rir                 as=64496-64499 v4=10.1.0.0/16 v6=2001:db8:1::/48
ca   m2   rir                 as=64500-64501 v4=10.2.0.0/16 v6=
REPO
cairnd() { "$CAIRND" -c "$RP_WORK/cairnd.conf" "$@"; }
cairnd apply "$RP_WORK/repo.txt" >"$RP_WORK/apply.log" 2>&1 ||
    { cat "$RP_WORK/apply.log" >&2; fail "cairnd apply"; exit 1; }
admin=$(cairnd token create --admin ops 2>"$RP_WORK/token.log" | tail -n 1)
member=$(cairnd token create --ca m1 member-1 2>>"$RP_WORK/token.log" | tail -n 1)
case $admin in cairn_*) ;; *) cat "$RP_WORK/token.log" >&2; fail "no admin token: $admin"; exit 1 ;; esac
case $member in cairn_*) ;; *) fail "no member token"; exit 1 ;; esac
cairnd token create --ca nope x >/dev/null 2>&1 && fail "token for an unknown CA"
cairnd token list >"$RP_WORK/tokens.txt" 2>&1 || fail "token list"
grep -q "^member-1	ca:m1	" "$RP_WORK/tokens.txt" || fail "token list: $(cat "$RP_WORK/tokens.txt")"
grep -q "$admin" "$RP_WORK/tokens.txt" && fail "token list shows the secret"

# The port is free when picked, but another test may take it before the
# daemon binds it: then pick another.
up=0
for _ in 1 2 3 4 5; do
	port=$(rp_free_port) || exit 1
	write_conf "$port"
	"$CAIRND" -c "$RP_WORK/cairnd.conf" run >"$RP_WORK/run.log" 2>&1 &
	daemon=$!
	export CAIRN_URL=http://127.0.0.1:$port
	rp_api_wait "$daemon" && up=1
	[ $up = 1 ] && break
	stop_daemon
	grep -q "address already in use" "$RP_WORK/run.log" || break
done
[ $up = 1 ] || { fail "cairnd run did not serve the API"; exit 1; }

# expect CODE cmd...: runs cairn, checks the exit code; output in $out.
expect() {
	local want=$1
	shift
	out=$("$CAIRN" "$@" 2>"$RP_WORK/err.txt")
	local rc=$?
	[ "$rc" = "$want" ] || fail "cairn $*: exit $rc, expected $want: $out $(cat "$RP_WORK/err.txt")"
}

expect 0 status
echo "$out" | grep -q "ready" || fail "status: $out"
expect 2 ca list                          # no token
export CAIRN_TOKEN=$admin
expect 0 ca list
echo "$out" | grep -q "^m1 .*rir .*as=64496-64499" || fail "ca list: $out"
expect 0 ca list --json
echo "$out" | grep -q '"handle":"m2"' || fail "ca list --json: $out"
expect 0 ca list --limit 2
echo "$out" | grep -q "(more: --after m2)" || fail "ca list --limit: $out"
expect 0 ca create m3 --parent rir --asn 64510 --ipv4 10.3.0.0/16
echo "$out" | grep -q "^parent: *rir" || fail "ca create: $out"
expect 1 ca create m3 --parent rir --asn 64511
grep -q "409 exists" "$RP_WORK/err.txt" || fail "duplicate: $(cat "$RP_WORK/err.txt")"
expect 1 ca create m4 --parent rir --asn 65000
grep -q "field resources" "$RP_WORK/err.txt" || fail "outside: $(cat "$RP_WORK/err.txt")"
expect 2 ca create m4
expect 0 ca resources m3 --asn 64510-64511 --ipv4 10.3.0.0/16
echo "$out" | grep -q "^asn: *64510-64511" || fail "ca resources: $out"

export CAIRN_TOKEN=$member
expect 0 roa add m1 AS64496 10.1.0.0/16 --max-length 24
echo "$out" | grep -q "AS64496 *10.1.0.0/16 *24" || fail "roa add: $out"
expect 0 roa add m1 64497 2001:db8:1::/48
expect 1 roa add m1 64496 10.9.0.0/16
grep -q "422 outside_resources" "$RP_WORK/err.txt" || fail "roa outside: $(cat "$RP_WORK/err.txt")"
expect 2 roa add m1 ASX 10.1.0.0/16
expect 0 roa remove m1 64497 2001:db8:1::/48
expect 0 roa list m1
[ "$(echo "$out" | grep -c '^AS[0-9]')" = 1 ] || fail "roa list: $out"
expect 1 roa list m2                      # another member's CA
grep -q "404 ca_not_found" "$RP_WORK/err.txt" || fail "scope: $(cat "$RP_WORK/err.txt")"
expect 0 aspa set m1 AS64496 65001,AS65002
echo "$out" | grep -q "AS64496 *AS65001,AS65002" || fail "aspa set: $out"
expect 0 aspa list m1
echo "$out" | grep -q "AS64496" || fail "aspa list: $out"
expect 0 aspa remove m1 64496
expect 1 aspa remove m1 64496
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$RP_WORK/router.key" -subj "/CN=router" \
    -addext "extendedKeyUsage=1.3.6.1.5.5.7.3.30" \
    -out "$RP_WORK/router.csr" 2>/dev/null || fail "openssl req"
expect 0 router-cert add m1 "$RP_WORK/router.csr" 64496
expect 1 router-cert add m1 "$RP_WORK/router.csr" 64496
expect 0 router-cert list m1
rkey=$(echo "$out" | awk '$3 == "64496" { print $1 }')
[ ${#rkey} = 40 ] || fail "router-cert list: $out"
expect 0 router-cert remove m1 "$rkey"
expect 1 router-cert remove m1 "$rkey"
grep -q "404 router_not_found" "$RP_WORK/err.txt" || fail "router remove twice: $(cat "$RP_WORK/err.txt")"
expect 0 router-cert add m1 "$RP_WORK/router.csr" 64496
expect 0 keyroll start m1
expect 1 keyroll activate m1              # staging period
grep -q "409 conflict" "$RP_WORK/err.txt" || fail "activate: $(cat "$RP_WORK/err.txt")"
expect 0 keyroll activate m1 --force
expect 0 keyroll finish m1
[ "$(echo "$out" | grep -c '^key:')" = 1 ] || fail "keyroll finish: $out"
expect 0 history m1 --actor member-1
echo "$out" | grep -q "member-1 *roa.add" || fail "history: $out"
echo "$out" | grep -q " test " && fail "history --actor: $out"
expect 0 history m1 --json --limit 1
echo "$out" | grep -q '"history":\[{' || fail "history --json: $out"

export CAIRN_TOKEN=$admin
expect 0 transfer m2 m3 --ipv4 10.2.0.0/24
expect 1 transfer m2 m3 --ipv4 10.2.0.0/24
expect 0 ca show m3
echo "$out" | grep -q "^ipv4: *10.2.0.0/24,10.3.0.0/16" || fail "after transfer: $out"

# Status, history across CAs, CA deletion.
expect 0 status
echo "$out" | grep -q "^publication: .* pending" || fail "status: $out"
expect 0 status --json
echo "$out" | grep -q '"problems":\[' || fail "status --json: $out"
expect 0 status m1
echo "$out" | grep -q "^next reissue: 20" || fail "status m1: $out"
expect 0 history --limit 3
[ "$(echo "$out" | grep -c '^[0-9]')" = 3 ] || fail "history: $out"
echo "$out" | grep -q "(more: --before [0-9]*)" || fail "history paging: $out"
expect 0 history m2 --actor ops
echo "$out" | grep -q " m2 *ops *transfer" || fail "history m2: $out"
expect 0 ca create leaf --parent m3 --asn 64510
expect 1 ca delete m3                     # has a child
grep -q "409 conflict" "$RP_WORK/err.txt" || fail "delete parent: $(cat "$RP_WORK/err.txt")"
expect 0 ca delete leaf
echo "$out" | grep -q "deleted CA leaf" || fail "ca delete: $out"
expect 1 ca show leaf
grep -q "404 ca_not_found" "$RP_WORK/err.txt" || fail "deleted: $(cat "$RP_WORK/err.txt")"
expect 2 ca delete

# Tokens through the API.
expect 0 token create portal-2 --ca m2
portal=$(echo "$out" | tail -n 1)
case $portal in cairn_*) ;; *) fail "token create: $out" ;; esac
expect 2 token create x
expect 2 token create x --ca m2 --admin
expect 1 token create portal-2 --ca m2
grep -q "409 exists" "$RP_WORK/err.txt" || fail "token twice: $(cat "$RP_WORK/err.txt")"
expect 0 token list
echo "$out" | grep -q "^portal-2 *ca:m2 " || fail "token list: $out"
echo "$out" | grep -q "cairn_" && fail "token list shows a secret: $out"
CAIRN_TOKEN=$portal expect 0 roa list m2
CAIRN_TOKEN=$portal expect 1 token list          # admin only
grep -q "403 forbidden" "$RP_WORK/err.txt" || fail "member token list: $(cat "$RP_WORK/err.txt")"
CAIRN_TOKEN=$portal expect 1 status              # the repository: admin only
expect 0 token revoke portal-2
CAIRN_TOKEN=$portal expect 1 roa list m2
grep -q "401 unauthenticated" "$RP_WORK/err.txt" || fail "revoked: $(cat "$RP_WORK/err.txt")"
expect 1 token revoke portal-2

# RFC 8181 publishers.
expect 0 publisher add "$DATA/pub/oob_publisher_request.xml" --handle bob-1
echo "$out" | grep -q "<repository_response" || fail "publisher add: $out"
echo "$out" | grep -q 'sia_base="rsync://127.0.0.1:8873/repo/bob-1/"' || fail "sia_base: $out"
echo "$out" | grep -q 'service_uri="https://pub.example.net/rfc8181/bob-1"' || fail "service_uri: $out"
expect 1 publisher add "$DATA/pub/oob_publisher_request.xml" --handle bob-1
grep -q "409 exists" "$RP_WORK/err.txt" || fail "publisher twice: $(cat "$RP_WORK/err.txt")"
expect 1 publisher add "$RP_WORK/repo.txt"
grep -q "422 invalid" "$RP_WORK/err.txt" || fail "not XML: $(cat "$RP_WORK/err.txt")"
expect 0 publisher list --kind remote
echo "$out" | grep -q "^bob-1 *remote *0 *rsync://127.0.0.1:8873/repo/bob-1/" || fail "publisher list: $out"
expect 0 publisher show bob-1
echo "$out" | grep -q "^repository_response:" || fail "publisher show: $out"
expect 1 publisher remove m1
grep -q "409 conflict" "$RP_WORK/err.txt" || fail "remove a CA's publisher: $(cat "$RP_WORK/err.txt")"
expect 0 publisher remove bob-1
expect 1 publisher show bob-1

# Bulk import: CSV and JSON, a second run changes nothing, errors name lines.
cat >"$RP_WORK/members.csv" <<'CSV'
# an RIR's members
handle,parent,asn,ipv4,ipv6
imp-a,rir,AS64502,"10.5.0.0/16, 10.6.0.0/16",
imp-b,imp-a,64502,10.5.1.0/24,
m2,rir,64500-64501,10.2.1.0/24,
CSV
expect 0 import resources "$RP_WORK/members.csv"
echo "$out" | grep -q "3 members: 2 created, 1 updated, 0 unchanged, 0 failed" || fail "import: $out"
expect 0 ca show imp-b
echo "$out" | grep -q "^parent: *imp-a" || fail "imported child: $out"
expect 0 import resources "$RP_WORK/members.csv"
echo "$out" | grep -q "0 created, 0 updated, 3 unchanged" || fail "import again: $out"
cat >"$RP_WORK/members.json" <<'JSON'
{"members": [
  {"handle": "imp-c", "parent": "rir", "asn": [64503], "ipv4": ["10.7.0.0/16"]},
  {"handle": "imp-a", "parent": "rir", "asn": "64502", "ipv4": "10.5.0.0/16,10.6.0.0/16"},
  {"handle": "imp-d", "parent": "rir", "asn": "65000"},
  {"handle": "imp-e", "parent": "imp-d", "asn": "65000"}
]}
JSON
expect 1 import resources "$RP_WORK/members.json" --json
echo "$out" | grep -q '"created":1' || fail "import json: $out"
echo "$out" | grep -q '"unchanged":1' || fail "import json: $out"
echo "$out" | grep -q '"line":4,"message":"422 ' || fail "import json failure line: $out"
echo "$out" | grep -q '"handle":"imp-e","line":5,"message":"parent imp-d failed","result":"skipped"' || fail "import json skip: $out"
printf 'handle,parent,asn\nimp-x,rir,64504\nimp-y,rir,notanumber\n' >"$RP_WORK/bad.csv"
expect 2 import resources "$RP_WORK/bad.csv"
grep -q "bad.csv: line 3: imp-y: asn" "$RP_WORK/err.txt" || fail "bad csv: $(cat "$RP_WORK/err.txt")"
expect 1 ca show imp-x                    # nothing was sent
expect 0 import resources "$RP_WORK/members.csv" --dry-run
echo "$out" | grep -q "dry run" || fail "dry run: $out"

# Trust anchors: admin tokens only.
expect 0 ta create ta2 --asn 65100-65199 --ipv4 172.16.0.0/12
echo "$out" | grep -q "^kind: *ta" || fail "ta create: $out"
echo "$out" | grep -q "^tal-uri: *rsync://127.0.0.1:8873/repo/ta2-ta/ta2.cer" ||
    fail "ta create: $out"
expect 1 ta create ta2 --asn 65100
grep -q "409 exists" "$RP_WORK/err.txt" || fail "ta duplicate: $(cat "$RP_WORK/err.txt")"
expect 1 ta create ta3 --asn inherit
grep -q "field resources.asn" "$RP_WORK/err.txt" || fail "ta inherit: $(cat "$RP_WORK/err.txt")"
expect 0 ta show ta --cert "$RP_WORK/ta.cer"
echo "$out" | grep -q "^child: *rir" || fail "ta show: $out"
openssl x509 -inform DER -in "$RP_WORK/ta.cer" -noout -subject >/dev/null 2>&1 ||
    fail "ta show --cert: not a DER certificate"
expect 0 ta tal ta
[ "$out" = "$(cairnd tal ta 2>/dev/null)" ] || fail "ta tal differs from cairnd tal: $out"
expect 1 ta show rir
grep -q "404 ta_not_found" "$RP_WORK/err.txt" || fail "ta show rir: $(cat "$RP_WORK/err.txt")"
CAIRN_TOKEN=$member expect 1 ta tal ta
grep -q "403 forbidden" "$RP_WORK/err.txt" || fail "member ta tal: $(cat "$RP_WORK/err.txt")"

# A trust anchor key roll (RFC 9691) through the API.
expect 0 ta-keyroll status ta2
echo "$out" | grep -q "^rolling: *no" || fail "ta-keyroll status: $out"
expect 1 ta-keyroll finish ta2                  # no roll under way
grep -q "409 conflict: .*no trust anchor key roll under way" "$RP_WORK/err.txt" ||
    fail "finish without start: $(cat "$RP_WORK/err.txt")"
expect 1 ta tal ta2 --next
grep -q "409 conflict" "$RP_WORK/err.txt" || fail "tal --next: $(cat "$RP_WORK/err.txt")"
expect 2 ta-keyroll start ta2 --force
expect 2 ta-keyroll start
expect 1 ta-keyroll start rir
grep -q "404 ta_not_found" "$RP_WORK/err.txt" || fail "ta-keyroll rir: $(cat "$RP_WORK/err.txt")"
CAIRN_TOKEN=$member expect 1 ta-keyroll start ta2
grep -q "403 forbidden" "$RP_WORK/err.txt" || fail "member ta-keyroll: $(cat "$RP_WORK/err.txt")"
expect 0 ta-keyroll status ta2
echo "$out" | grep -q "^rolling: *no" || fail "after refusals: $out"
expect 0 ta-keyroll start ta2
echo "$out" | grep -q "^rolling: *yes" || fail "ta-keyroll start: $out"
echo "$out" | grep -q "cairn ta tal ta2 --next" || fail "ta-keyroll start: $out"
expect 1 ta-keyroll start ta2
grep -q "409 exists" "$RP_WORK/err.txt" || fail "second start: $(cat "$RP_WORK/err.txt")"
expect 0 ta tal ta2 --next
[ "$out" = "$(cairnd tal ta2 --next 2>/dev/null)" ] || fail "ta tal --next differs from cairnd tal --next: $out"
[ "$out" != "$(cairnd tal ta2 2>/dev/null)" ] || fail "ta tal --next is the current TAL"
expect 1 ta-keyroll finish ta2                  # the acceptance period
grep -q "409 conflict: .*acceptance period" "$RP_WORK/err.txt" || fail "early finish: $(cat "$RP_WORK/err.txt")"
expect 0 ta-keyroll finish ta2 --force
echo "$out" | grep -q "^rolling: *no" || fail "ta-keyroll finish: $out"
expect 0 history ta2 --actor ops
echo "$out" | grep -q "ops *ta.keyroll.finish" || fail "history ta2: $out"
echo "$out" | grep -q "ops *ta.keyroll.start" || fail "history ta2: $out"

# A CA whose parent is offline: its state and the request file through the
# API.  Here the "offline" parent is this instance's own trust anchor, so
# the response must be refused (its publication points are our own) and
# change nothing.
cairnd parent request off "$RP_WORK/off_request.xml" >/dev/null 2>&1 || fail "parent request"
cairnd child add ta "$RP_WORK/off_request.xml" "$RP_WORK/off_response.xml" \
    as=65000 v4=198.18.0.0/15 >/dev/null 2>&1 || fail "child add"
cairnd parent import off "$RP_WORK/off_response.xml" --offline >/dev/null 2>&1 ||
    fail "parent import --offline"
expect 0 parent show off
echo "$out" | grep -q "^mode: *offline" || fail "parent show: $out"
echo "$out" | grep -q "^parent: *ta" || fail "parent show: $out"
echo "$out" | grep -q "^key: *-" || fail "parent show: $out"
expect 1 parent show m1
grep -q "404 parent_not_found" "$RP_WORK/err.txt" || fail "parent show m1: $(cat "$RP_WORK/err.txt")"
expect 1 parent show nope
grep -q "404 ca_not_found" "$RP_WORK/err.txt" || fail "parent show nope: $(cat "$RP_WORK/err.txt")"
CAIRN_TOKEN=$member expect 1 parent show off
grep -q "403 forbidden" "$RP_WORK/err.txt" || fail "member parent show: $(cat "$RP_WORK/err.txt")"
expect 0 parent offline-request off "$RP_WORK/off_req.json"
echo "$out" | grep -q "^off: [0-9]* messages for the offline parent in" || fail "offline-request: $out"
grep -q '"type": *"cairn-offline-request"' "$RP_WORK/off_req.json" || fail "request file: $(head -c 300 "$RP_WORK/off_req.json")"
expect 0 parent offline-request off --json
echo "$out" | grep -q '"type": *"cairn-offline-request"' || fail "offline-request --json: $out"
expect 2 parent offline-request
expect 2 parent offline-import off "$RP_WORK/nonexistent.json"
printf '{"type":"cairn-offline-response"}' >"$RP_WORK/bad_resp.json"
expect 1 parent offline-import off "$RP_WORK/bad_resp.json"
grep -q "400 malformed_file: .*(field response)" "$RP_WORK/err.txt" || fail "malformed response: $(cat "$RP_WORK/err.txt")"
expect 1 parent offline-import off "$RP_WORK/off_req.json"
grep -q "400 malformed_file" "$RP_WORK/err.txt" || fail "request as response: $(cat "$RP_WORK/err.txt")"
cairnd offline answer ta "$RP_WORK/off_req.json" "$RP_WORK/off_resp.json" >/dev/null 2>&1 ||
    fail "offline answer"
expect 1 parent offline-import off "$RP_WORK/off_resp.json"
grep -q "422 invalid" "$RP_WORK/err.txt" || fail "own points: $(cat "$RP_WORK/err.txt")"
expect 0 parent show off
echo "$out" | grep -q "^key: *-" || fail "refused import changed the CA: $out"

# Revoked tokens are refused at once.
cairnd token revoke member-1 >/dev/null 2>&1 || fail "token revoke"
CAIRN_TOKEN=$member expect 1 roa list m1
grep -q "401 unauthenticated" "$RP_WORK/err.txt" || fail "revoked: $(cat "$RP_WORK/err.txt")"
# A configuration file instead of the environment.
printf 'url = %s\ntoken = %s\n' "$CAIRN_URL" "$admin" >"$RP_WORK/cairn.conf"
(unset CAIRN_URL CAIRN_TOKEN; "$CAIRN" --config "$RP_WORK/cairn.conf" ca show m1 >/dev/null) ||
    fail "--config"
expect 2 ca frobnicate
expect 0 ca create --help
echo "$out" | grep -q "usage: .*ca create HANDLE --parent" || fail "--help: $out"
for c in "ca delete" "token create" "token list" "token revoke" "publisher add" \
    "publisher list" "publisher show" "publisher remove" "import resources" \
    "status" "history" "ta-keyroll start" "ta-keyroll finish" \
    "ta-keyroll status" "parent show" "parent offline-request" \
    "parent offline-import"; do
	expect 0 $c --help
	echo "$out" | grep -q "^usage: cairn .* $c" || fail "$c --help: $out"
done

# Bash completion offers every command of cairn --help and its subcommand.
_init_completion() {
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
}
_filedir() { :; }
. "$here/../../deploy/cairn.bash-completion" || fail "completion: cannot source"
offers() {	# offers WORD COMP_WORDS...: the completion of the last word
	local w=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_cairn
	printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$w"
}
ncomp=0
while read -r c s; do
	offers "$c" cairn "" || fail "completion: no command $c"
	case $s in
	[a-z]*) offers "$s" cairn "$c" "" || fail "completion: no $c $s" ;;
	esac
	ncomp=$((ncomp + 1))
done < <("$CAIRN" --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1, $2 }')
[ $ncomp -gt 30 ] || fail "completion: only $ncomp commands in cairn --help"
offers --force cairn ta-keyroll finish "" || fail "completion: ta-keyroll finish --force"
offers --next cairn ta tal "" || fail "completion: ta tal --next"

# The tick loop kept running while the API served.
grep -q "api: listening on 127.0.0.1 port $port (http, 4 workers)" "$RP_WORK/run.log" ||
    fail "run.log: no listener line"
stop_daemon
expect 3 status
exit $failed
