#!/bin/bash
#
# cairn-pubd as processes: a leader (embedded PostgreSQL) and a replica
# (same database, leader = no) serve RRDP over HTTP on real sockets.
# Checks: both serve byte-identical notification, snapshot and delta files;
# GET, HEAD, conditional GET (304), gzip, 404 and 405; Cache-Control of the
# notification and of the immutable files; the mass-withdrawal guard holds
# a batch (logged loudly) until "confirm-batch" releases it; a standby
# takes over when the leader is killed (kill -9); SIGHUP reloads the
# static files (one large enough for sendfile), the TLS certificate and
# the access log, and a failed reload keeps what was served; publisher-add
# answers an RFC 8183 publisher_request with a repository_response; the
# RFC 8181 server of a process signs its replies; a newer database schema
# is refused.
#
#   pubd_serve.sh path/to/cairn-pubd
set -u
PUBD=${1:?usage: $0 cairn-pubd}
FAILED=0
PIDS=()

fail() { echo "FAIL: $*" >&2; FAILED=1; }
die() { echo "FAIL: $*" >&2; exit 1; }

W=$(mktemp -d /tmp/cairn-pubd.XXXXXX) || exit 1
chmod 755 "$W"
cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[$i]}" 2>/dev/null
		wait "${PIDS[$i]}" 2>/dev/null
	done
	# The cluster outlives a killed leader: stop it (fast shutdown).
	if [ -f "$W/d1/pg/data/postmaster.pid" ]; then
		kill -INT "$(head -1 "$W/d1/pg/data/postmaster.pid")" 2>/dev/null
		for _ in $(seq 100); do
			[ -f "$W/d1/pg/data/postmaster.pid" ] || break
			sleep 0.1
		done
	fi
	[ "${KEEP:-0}" = 1 ] && { echo "kept $W" >&2; return; }
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port VAR [OTHER]: a free port other than OTHER (no subshell: it
# would repeat the parent's $RANDOM sequence).
free_port() {
	local p
	for _ in $(seq 20); do
		p=$((20000 + RANDOM % 12000))	# below the ephemeral range
		[ "$p" != "${2:-}" ] && port_free "$p" &&
		    { printf -v "$1" %s "$p"; return 0; }
	done
	return 1
}
free_port P1 && free_port P2 "$P1" && free_port P3 "$P1" &&
    [ "$P3" != "$P2" ] || die "no free port"
BASE=https://rrdp.example.net/rrdp/

mkdir -p "$W/d1" "$W/d2" "$W/d3" "$W/objs" && chmod 755 "$W/d1" "$W/d2"
conf() {	# file data-dir port extra...
	local f=$1 d=$2 p=$3
	shift 3
	{
		echo "data-dir = $d"
		echo "[rrdp]"
		echo "base-uri = $BASE"
		echo "interval = 1s"
		printf '%s\n' "$@"
		echo "[http]"
		echo "listen = 127.0.0.1"
		echo "port = $p"
		echo "[rsync]"
		echo "base-uri = rsync://rsync.example.net/repo/"
		echo "[rfc8181]"
		echo "service-uri = https://pub.example.net/rfc8181/"
		echo "bpki-key = $W/bpki.key"
		echo "bpki-cert = $W/bpki.pem"
		echo "[guard]"
		echo "withdraw-share = 10"
		echo "min-withdrawals = 10"
	} >"$f"
}
conf "$W/leader.conf" "$W/d1" "$P1"
conf "$W/replica.conf" "$W/d2" "$P2" "leader = no"
conf "$W/standby.conf" "$W/d3" "$P3"
# The others reach the leader's embedded cluster through its socket.
# Access logs: the leader's to a file, none for the replica.
sed -i "s|^\[http\]$|[http]\naccess-log = $W/leader-access.log|" "$W/leader.conf"
sed -i "s|^\[http\]$|[http]\naccess-log = off|" "$W/replica.conf"
# The replica also serves static files (one above the size sent with
# sendfile(2)), reloaded on SIGHUP.
sed -i "s|^\[http\]$|[http]\nstatic-dir = $W/static|" "$W/replica.conf"
mkdir -p "$W/static"
echo "TA certificate 1" >"$W/static/ta.cer"
head -c 3000000 /dev/urandom >"$W/static/big.bin"
for f in replica standby; do
	sed -i "1a [db]\ndsn = host=$W/d1/pg/run port=5432 user=cairn dbname=cairn" \
	    "$W/$f.conf"
done

for i in $(seq -w 1 30); do
	head -c $((200 + 10#$i * 7)) /dev/urandom >"$W/objs/obj$i.roa"
done
"$PUBD" -c "$W/leader.conf" sync ca1 "$W/objs" >/dev/null ||
    die "sync"
"$PUBD" -c "$W/leader.conf" >"$W/leader.log" 2>&1 &
PIDS+=($!)

get() { curl -s "http://127.0.0.1:$1$2"; }
path_of() { sed 's|https://rrdp.example.net||'; }

# wait_serial PORT N: until the server on PORT serves serial N.
wait_serial() {
	for _ in $(seq 200); do
		get "$1" /rrdp/notification.xml | grep -q "serial=\"$2\">" &&
		    return 0
		sleep 0.1
	done
	cat "$W/leader.log" "$W/replica.log" >&2 2>/dev/null
	die "port $1 did not serve serial $2"
}
wait_serial "$P1" 1
"$PUBD" -c "$W/replica.conf" >"$W/replica.log" 2>&1 &
PIDS+=($!)
wait_serial "$P2" 1
grep -q "leader: this process builds" "$W/replica.log" &&
    fail "the replica built serials"

# Serial 2: one object replaced, one withdrawn, one added.
head -c 300 /dev/urandom >"$W/objs/obj01.roa"
rm "$W/objs/obj02.roa"
head -c 300 /dev/urandom >"$W/objs/new.roa"
"$PUBD" -c "$W/leader.conf" sync ca1 "$W/objs" >/dev/null || die "sync 2"
wait_serial "$P1" 2
wait_serial "$P2" 2

# Byte-identical files on leader and replica.
n1=$(get "$P1" /rrdp/notification.xml)
n2=$(get "$P2" /rrdp/notification.xml)
[ "$n1" = "$n2" ] || fail "notifications differ"
snap=$(grep -o '<snapshot uri="[^"]*' <<<"$n1" | sed 's/.*uri="//' | path_of)
delta=$(grep -o '<delta serial="2" uri="[^"]*' <<<"$n1" | sed 's/.*uri="//' |
    path_of)
[ -n "$snap" ] && [ -n "$delta" ] || fail "notification lacks files: $n1"
for f in "$snap" "$delta"; do
	get "$P1" "$f" >"$W/a" && get "$P2" "$f" >"$W/b"
	[ -s "$W/a" ] || fail "$f is empty"
	cmp -s "$W/a" "$W/b" || fail "$f differs between leader and replica"
	h=$(sha256sum <"$W/a" | cut -d' ' -f1)
	grep -q "hash=\"$h\"" <<<"$n1" || fail "$f: hash not in notification"
done
grep -c '<publish' <(get "$P1" "$snap") | grep -q '^30$' ||
    fail "snapshot does not hold 30 objects"
[ "$(grep -c '<publish\|<withdraw' <(get "$P1" "$delta"))" = 3 ] ||
    fail "delta does not hold 3 elements"

# HEAD, 304, gzip, 404, 405, caching headers.
hdrs() { curl -s -D - -o /dev/null "$@" | tr -d '\r'; }
h=$(hdrs -I "http://127.0.0.1:$P2$snap")
grep -q '^HTTP/1.1 200' <<<"$h" || fail "HEAD: $h"
len=$(sed -n 's/^Content-Length: //Ip' <<<"$h")
[ "$len" = "$(get "$P2" "$snap" | wc -c)" ] || fail "HEAD length $len"
grep -qi '^cache-control: public, max-age=31536000, immutable$' <<<"$h" ||
    fail "snapshot Cache-Control"
etag=$(sed -n 's/^ETag: //Ip' <<<"$h")
h=$(hdrs -H "If-None-Match: $etag" "http://127.0.0.1:$P2$snap")
grep -q '^HTTP/1.1 304' <<<"$h" || fail "conditional GET: $h"
h=$(hdrs "http://127.0.0.1:$P1/rrdp/notification.xml")
grep -qi '^cache-control: public, max-age=60$' <<<"$h" ||
    fail "notification Cache-Control"
curl -s -H 'Accept-Encoding: gzip' -D "$W/gz.h" -o "$W/gz" \
    "http://127.0.0.1:$P1$snap"
grep -qi '^content-encoding: gzip' "$W/gz.h" || fail "no gzip encoding"
get "$P1" "$snap" >"$W/plain"
gunzip -c <"$W/gz" | cmp -s - "$W/plain" || fail "gzip body differs"
[ "$(stat -c %s "$W/gz")" -lt "$(stat -c %s "$W/plain")" ] ||
    fail "gzip is not smaller"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "http://127.0.0.1:$P1/rrdp/nothing.xml")" = 404 ] || fail "404"
[ "$(code -X POST "http://127.0.0.1:$P1/rrdp/notification.xml")" = 405 ] ||
    fail "405"
[ "$(code "http://127.0.0.1:$P1/rrdp/notification.xml?x=1")" = 400 ] ||
    fail "query string not refused"

grep -q '"GET /rrdp/notification.xml HTTP/1.1" 200' "$W/leader-access.log" ||
    fail "no access log file"
grep -q '\] "GET ' "$W/leader.log" "$W/replica.log" &&
    fail "requests logged in the daemon log"

# Static files, and SIGHUP: the directory is read again; a file that
# cannot be loaded keeps the files served before, with an error naming it.
[ "$(get "$P2" /ta.cer)" = "TA certificate 1" ] || fail "static file"
get "$P2" /big.bin | cmp -s - "$W/static/big.bin" || fail "big static file"
h=$(hdrs -I "http://127.0.0.1:$P2/big.bin")
grep -qi '^content-length: 3000000$' <<<"$h" || fail "HEAD big.bin: $h"
[ "$(curl -s -r 0-9 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$P2/big.bin")" = 200 ] || fail "range on big.bin"
RPID=${PIDS[1]}
# memfds: the bodies held for sendfile(2) (64 KiB and more: big.bin only).
memfds() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'memfd:cairn-http-body'; }
[ "$(memfds "$RPID")" = 1 ] || fail "big.bin is not in a memfd: $(memfds "$RPID")"
# reloaded LOG N: until LOG shows N "SIGHUP: reload" results.
reloaded() {
	for _ in $(seq 100); do
		[ "$(grep -c 'SIGHUP: reload \(done\|failed\)' "$1")" -ge "$2" ] &&
		    return 0
		sleep 0.1
	done
	fail "no reload logged in $1"
}
echo "TA certificate 2" >"$W/static/ta.cer"
echo "a TAL" >"$W/static/new.tal"
rm "$W/static/big.bin"
kill -HUP "$RPID"
reloaded "$W/replica.log" 1
[ "$(get "$P2" /ta.cer)" = "TA certificate 2" ] || fail "ta.cer not reloaded"
[ "$(get "$P2" /new.tal)" = "a TAL" ] || fail "new.tal not served"
[ "$(code "http://127.0.0.1:$P2/big.bin")" = 404 ] ||
    fail "a removed static file is still served"
grep -q 'reload: 2 static files' "$W/replica.log" || fail "reload count"
[ "$(memfds "$RPID")" = 0 ] || fail "the memfd of the removed file is still open"
echo "TA certificate 3" >"$W/static/ta.cer"
truncate -s 17M "$W/static/huge.cer"
kill -HUP "$RPID"
reloaded "$W/replica.log" 2
grep -q "reload: static-dir: .*huge.cer.*the files served before stay" \
    "$W/replica.log" || fail "no error naming huge.cer"
grep -q 'SIGHUP: reload failed in part' "$W/replica.log" ||
    fail "the failed reload was not reported"
[ "$(get "$P2" /ta.cer)" = "TA certificate 2" ] ||
    fail "a failed reload changed the files served"
kill -0 "$RPID" || fail "the replica died of SIGHUP"
rm "$W/static/huge.cer"

# SIGHUP reopens the access log file (log rotation).
mv "$W/leader-access.log" "$W/leader-access.log.1"
get "$P1" /rrdp/before-reopen >/dev/null
kill -HUP "${PIDS[0]}"
reloaded "$W/leader.log" 1
get "$P1" /rrdp/nothing-after-rotation >/dev/null
grep -q 'nothing-after-rotation' "$W/leader-access.log" 2>/dev/null ||
    fail "the access log was not reopened"
grep -q 'nothing-after-rotation' "$W/leader-access.log.1" &&
    fail "logged into the rotated access log"
grep -q 'before-reopen' "$W/leader-access.log.1" ||
    fail "the rotated access log lost a line"

# Guard: 20 of 30 objects withdrawn is held, loudly, until released.
rm "$W"/objs/obj1*.roa "$W"/objs/obj2*.roa
"$PUBD" -c "$W/leader.conf" sync ca1 "$W/objs" >/dev/null || die "sync 3"
sleep 3
get "$P1" /rrdp/notification.xml | grep -q 'serial="2">' ||
    fail "the guard did not hold the mass withdrawal"
grep -q 'RRDP GUARD: HOLDING 20 pending changes.*would withdraw 20 of' \
    "$W/leader.log" || fail "no guard message in the log"
"$PUBD" -c "$W/leader.conf" status >"$W/status" || fail "status"
grep -q '^HELD batch .*would withdraw 20 of' "$W/status" ||
    fail "status does not show the held batch: $(cat "$W/status")"
grep -q '^pending 20 changes$' "$W/status" || fail "status: pending"
grep -q '^session [0-9a-f-]* serial 2 built' "$W/status" || fail "status: serial"
grep -q '^leader pid [0-9]*$' "$W/status" || fail "status: leader"
"$PUBD" -c "$W/leader.conf" confirm-batch | grep -q '^1 held batch released' ||
    fail "confirm-batch"
wait_serial "$P1" 3
wait_serial "$P2" 3
[ "$(get "$P2" /rrdp/notification.xml)" = \
    "$(get "$P1" /rrdp/notification.xml)" ] || fail "serial 3 differs"

# Fail-over: a standby that may lead takes over when the leader dies.
"$PUBD" -c "$W/standby.conf" >"$W/standby.log" 2>&1 &
PIDS+=($!)
wait_serial "$P3" 3
grep -q "leader: this process builds" "$W/standby.log" &&
    fail "the standby built serials while the leader was alive"
kill -9 "${PIDS[0]}"
head -c 300 /dev/urandom >"$W/objs/after.roa"
"$PUBD" -c "$W/standby.conf" sync ca1 "$W/objs" >/dev/null || die "sync 4"
wait_serial "$P3" 4
wait_serial "$P2" 4
grep -q "leader: this process builds" "$W/standby.log" ||
    fail "the standby did not take over"
[ "$(get "$P2" /rrdp/notification.xml)" = \
    "$(get "$P3" /rrdp/notification.xml)" ] || fail "serial 4 differs"
get "$P3" /rrdp/notification.xml | grep -q '<delta serial="4"' ||
    fail "the new leader did not continue the session with a delta"

# RFC 8183: add a publisher from its publisher_request.
"$PUBD" -c "$W/leader.conf" bpki-init >/dev/null || fail "bpki-init"
"$PUBD" -c "$W/leader.conf" bpki-init >/dev/null 2>&1 &&
    fail "bpki-init overwrote the identity"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/bob.key" \
    -out "$W/bob.pem" -subj /CN=bob -days 2 \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null || die "bob TA"
{
	echo '<publisher_request xmlns="http://www.hactrn.net/uris/rpki/rpki-setup/" version="1" publisher_handle="bob">'
	echo "<publisher_bpki_ta>$(openssl x509 -in "$W/bob.pem" -outform DER | base64 -w0)</publisher_bpki_ta>"
	echo '</publisher_request>'
} >"$W/bob.xml"
"$PUBD" -c "$W/leader.conf" publisher-add "$W/bob.xml" >"$W/bob.resp" ||
    fail "publisher-add"
for want in '<repository_response' 'publisher_handle="bob"' \
    'service_uri="https://pub.example.net/rfc8181/bob"' \
    'sia_base="rsync://rsync.example.net/repo/bob/"' \
    'rrdp_notification_uri="https://rrdp.example.net/rrdp/notification.xml"' \
    "$(openssl x509 -in "$W/bpki.pem" -outform DER | base64 -w0)"; do
	grep -q -F -- "$want" "$W/bob.resp" || fail "repository_response lacks $want"
done
"$PUBD" -c "$W/leader.conf" publisher-add "$W/bob.xml" >/dev/null 2>&1 &&
    fail "publisher added twice"

# The RFC 8181 server of a running process answers with a signed
# report_error (a garbage query cannot carry a valid signature).
free_port P4 "$P1" || die "no free port"
sed "s|^\[rfc8181\]$|[rfc8181]\nlisten = 127.0.0.1\nport = $P4|" \
    "$W/standby.conf" >"$W/r8181.conf"
sed -i "s|^port = $P3$|port = 0|" "$W/r8181.conf"
"$PUBD" -c "$W/r8181.conf" >"$W/r8181.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	port_free "$P4" || break
	sleep 0.1
done
st=$(curl -s -o "$W/r8181.der" -w '%{http_code}' --data-binary 'garbage' \
    -H 'Content-Type: application/rpki-publication' \
    "http://127.0.0.1:$P4/rfc8181/bob")
[ "$st" = 200 ] || fail "RFC 8181 POST: HTTP $st"
openssl cms -verify -inform DER -in "$W/r8181.der" -CAfile "$W/bpki.pem" \
    -purpose any -out "$W/r8181.xml" 2>/dev/null ||
    fail "the RFC 8181 reply is not signed by the server's BPKI identity"
grep -q 'report_error error_code="bad_cms_signature"' "$W/r8181.xml" ||
    fail "RFC 8181 reply: $(cat "$W/r8181.xml")"
[ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary x \
    -H 'Content-Type: application/rpki-publication' \
    "http://127.0.0.1:$P4/rfc8181/nobody")" = 404 ] ||
    fail "RFC 8181 unknown publisher"

# SIGHUP reloads the TLS certificate; a bad one keeps the old in use.
free_port P5 "$P1" || die "no free port"
mkcert() {	# name CN
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/$1.key" \
	    -out "$W/$1.pem" -subj "/CN=$2" -days 2 2>/dev/null || die "cert $1"
}
mkcert tls1 first.example.net
mkcert tls2 second.example.net
cp "$W/tls1.pem" "$W/tls.pem" && cp "$W/tls1.key" "$W/tls.key"
sed -e "s|^port = $P3$|port = $P5\ntls-cert = $W/tls.pem\ntls-key = $W/tls.key|" \
    -e 's|^\[rrdp\]$|[rrdp]\nleader = no|' "$W/standby.conf" >"$W/tls.conf"
"$PUBD" -c "$W/tls.conf" >"$W/tls.log" 2>&1 &
PIDS+=($!)
TPID=$!
# served_cn: the CN of the certificate the TLS server presents.
served_cn() {
	openssl s_client -connect "127.0.0.1:$P5" </dev/null 2>/dev/null |
	    openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}
for _ in $(seq 100); do
	[ -n "$(served_cn)" ] && break
	sleep 0.1
done
[ "$(served_cn)" = first.example.net ] || fail "TLS: $(served_cn)"
cp "$W/tls2.pem" "$W/tls.pem" && cp "$W/tls2.key" "$W/tls.key"
kill -HUP "$TPID"
reloaded "$W/tls.log" 1
[ "$(served_cn)" = second.example.net ] ||
    fail "the renewed certificate is not served: $(served_cn)"
curl -sk "https://127.0.0.1:$P5/rrdp/notification.xml" |
    grep -q '<notification' || fail "no RRDP over the reloaded TLS"
echo garbage >"$W/tls.pem"
kill -HUP "$TPID"
reloaded "$W/tls.log" 2
grep -q "reload: RRDP TLS: $W/tls.pem: .*the old certificate stays" \
    "$W/tls.log" || fail "no error naming the bad certificate"
[ "$(served_cn)" = second.example.net ] ||
    fail "a bad certificate replaced the good one: $(served_cn)"
cp "$W/tls1.pem" "$W/tls.pem"	# tls2.key does not match it
kill -HUP "$TPID"
reloaded "$W/tls.log" 3
grep -q "reload: RRDP TLS: $W/tls.key: " "$W/tls.log" ||
    fail "no error about the mismatched key"
[ "$(served_cn)" = second.example.net ] ||
    fail "a mismatched key replaced the certificate: $(served_cn)"
kill -0 "$TPID" || fail "the TLS server died of SIGHUP"

# A schema newer than the binary is refused at start-up.
if command -v psql >/dev/null; then
	psql -q "host=$W/d1/pg/run port=5432 user=cairn dbname=cairn" -c \
	    "INSERT INTO cairn_schema (version, name) VALUES (9999, 'future')" ||
	    fail "psql"
	"$PUBD" -c "$W/standby.conf" confirm-batch 2>"$W/newer.err" &&
	    fail "started on a newer schema"
	grep -q 'newer than this program' "$W/newer.err" ||
	    fail "no clear refusal of a newer schema: $(cat "$W/newer.err")"
fi

[ "$FAILED" = 0 ] && echo PASS
exit "$FAILED"
