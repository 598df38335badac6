#!/bin/bash
#
# The RRDP files served by cairn-pubd against nginx serving the same bytes,
# both on this machine, measured with wrk in one run (called by
# bench_pubd; see docs/performance.md).
#
#   bench_pubd_http.sh CAIRN-PUBD [seconds-per-run [connections]]
#                                        (defaults 5 and 32)
#
# A repository whose snapshot is about 50 MB (SNAPSHOT_MB) is published by
# a cairn-pubd on its own embedded PostgreSQL; a second cairn-pubd (a
# replica of the same database) serves it over HTTPS.  nginx (one worker:
# cairn-pubd serves from one event loop; sendfile, open_file_cache, access
# log off) serves the notification and the snapshot fetched from
# cairn-pubd, over HTTP and HTTPS (the same test certificate, the same
# TLS defaults of OpenSSL).  All of them run unprivileged (as the user
# "cairn" when started as root) on loopback ports, with their own
# configuration in a temporary directory.  wrk -t1 --latency --timeout
# 10s (a 50 MB response can take over the default 2 s here), identity
# encoding (no Accept-Encoding), keep-alive; the snapshot with 4
# connections.  ROUNDS (3) alternating runs per case; each server's best
# run (requests/s) is kept, since other work on the machine only slows a
# run down.  Ratios are "cairn-pubd as fast as nginx" when >= 1:
# requests/s cairn/nginx, latency nginx/cairn, and the server's CPU time
# per request (user + system of the cairn-pubd process, of the nginx
# worker; less sensitive to the machine's other load) nginx/cairn.
set -u
PUBD=${1:?usage: $0 cairn-pubd [seconds [connections]]}
SECS=${2:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${3:-32}
SNAPSHOT_MB=${SNAPSHOT_MB:-50}
PIDS=()

say() { echo "bench_pubd_http: $*"; }
for p in wrk nginx openssl curl; do
	command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || {
		say "$p is not installed (deploy/install-deps.sh test); nothing measured"
		exit 0
	}
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PUBD=$(readlink -f "$PUBD")

W=$(mktemp -d /tmp/bench_pubd_http.XXXXXX) || exit 1
chmod 755 "$W"
cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[$i]}" 2>/dev/null
		wait "${PIDS[$i]}" 2>/dev/null
	done
	[ "${KEEP:-0}" = 1 ] && { echo "kept $W" >&2; return; }
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# As root, the servers run as the unprivileged user "cairn".
AS=()
if [ "$(id -u)" = 0 ]; then
	getent passwd cairn >/dev/null || {
		say "run as root without the user cairn (deploy/install-deps.sh)"
		exit 1
	}
	AS=(setpriv --reuid=cairn --regid=cairn --init-groups --)
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
USED=" "
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		case $USED in *" $p "*) continue ;; esac
		port_free "$p" && { USED="$USED$p "; printf -v "$1" %s "$p"; return 0; }
	done
	return 1
}
wait_port() {
	for _ in $(seq 300); do
		port_free "$1" || return 0
		sleep 0.1
	done
	return 1
}
free_port PC && free_port PCS && free_port PN && free_port PNS ||
    { say "no free port"; exit 1; }

# A test CA and a certificate for 127.0.0.1, used by both servers.
mkdir -p "$W/tls" "$W/objs" "$W/d1" "$W/d2" "$W/nginx/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/tls/srv.key" \
    -out "$W/tls/srv.pem" -subj /CN=127.0.0.1 -days 2 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null || exit 1

# Objects of 1,500 bytes: about 2,100 bytes each in the snapshot.
n=$((SNAPSHOT_MB * 1000000 / 2100))
head -c $((n * 1500)) /dev/urandom >"$W/all"
(cd "$W/objs" && split -b 1500 -a 5 --additional-suffix=.roa ../all o) ||
    exit 1
rm "$W/all"

conf() {	# file data-dir port extra-lines...
	local f=$1 d=$2 p=$3
	shift 3
	{
		echo "data-dir = $d"
		[ "$d" = "$W/d2" ] && printf '[db]\ndsn = host=%s port=5432 user=cairn dbname=cairn\n' "$W/d1/pg/run"
		echo "[rrdp]"
		echo "base-uri = https://127.0.0.1/rrdp/"
		echo "interval = 1s"
		[ "$d" = "$W/d2" ] && echo "leader = no"
		echo "[http]"
		echo "listen = 127.0.0.1"
		echo "port = $p"
		echo "access-log = off"
		printf '%s\n' "$@"
		echo "[rsync]"
		echo "base-uri = rsync://127.0.0.1/repo/"
	} >"$f"
}
conf "$W/pubd.conf" "$W/d1" "$PC"
conf "$W/pubd-tls.conf" "$W/d2" "$PCS" "tls-cert = $W/tls/srv.pem" \
    "tls-key = $W/tls/srv.key"
[ ${#AS[@]} -gt 0 ] && chown -R cairn: "$W"

say "publishing $n objects (snapshot about $SNAPSHOT_MB MB)"
"${AS[@]}" "$PUBD" -c "$W/pubd.conf" sync ca1 "$W/objs" >/dev/null \
    2>"$W/sync.log" || { cat "$W/sync.log"; exit 1; }
"${AS[@]}" "$PUBD" -c "$W/pubd.conf" >"$W/pubd.log" 2>&1 &
PIDS+=($!)
CPID=$!
get() { curl -s "$@"; }
for _ in $(seq 600); do
	get "http://127.0.0.1:$PC/rrdp/notification.xml" 2>/dev/null |
	    grep -q 'serial="1"' && break
	sleep 0.2
done
notif=$(get "http://127.0.0.1:$PC/rrdp/notification.xml")
snap=$(grep -o '<snapshot uri="[^"]*' <<<"$notif" | sed 's|.*https://127.0.0.1||')
[ -n "$snap" ] || { say "cairn-pubd did not publish"; cat "$W/pubd.log"; exit 1; }
"${AS[@]}" "$PUBD" -c "$W/pubd-tls.conf" >"$W/pubd-tls.log" 2>&1 &
PIDS+=($!)
CPIDS=$!

# nginx serves the same bytes at the same paths.
mkdir -p "$W/nginx/www$(dirname "$snap")"
get -o "$W/nginx/www/rrdp/notification.xml" \
    "http://127.0.0.1:$PC/rrdp/notification.xml"
get -o "$W/nginx/www$snap" "http://127.0.0.1:$PC$snap"
chmod -R a+rX "$W/nginx/www"
cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	open_file_cache max=64 inactive=60s;
	open_file_cache_valid 60s;
	types { application/xml xml; }
	client_body_temp_path $W/nginx/tmp; proxy_temp_path $W/nginx/tmp;
	fastcgi_temp_path $W/nginx/tmp; uwsgi_temp_path $W/nginx/tmp;
	scgi_temp_path $W/nginx/tmp;
	server {
		listen 127.0.0.1:$PN;
		listen 127.0.0.1:$PNS ssl;
		ssl_certificate $W/tls/srv.pem;
		ssl_certificate_key $W/tls/srv.key;
		root $W/nginx/www;
		etag on;
		location /rrdp/ { add_header Cache-Control "public, max-age=60"; }
	}
}
EOF
[ ${#AS[@]} -gt 0 ] && chown -R cairn: "$W/nginx"
"${AS[@]}" "$NGINX" -p "$W/nginx" -e "$W/nginx/error.log" \
    -c "$W/nginx/nginx.conf" 2>"$W/nginx.out" &
PIDS+=($!)
NMASTER=$!
wait_port "$PN" && wait_port "$PCS" ||
    { say "a server did not start"; cat "$W/nginx.out" "$W/nginx/error.log" "$W/pubd-tls.log"; exit 1; }
for _ in $(seq 300); do
	get -k "https://127.0.0.1:$PCS/rrdp/notification.xml" |
	    grep -q 'serial="1"' && break
	sleep 0.2
done

# Same bytes from every server.
for u in /rrdp/notification.xml "$snap"; do
	h=$(get "http://127.0.0.1:$PC$u" | sha256sum)
	for url in "https://127.0.0.1:$PCS$u" "http://127.0.0.1:$PN$u" \
	    "https://127.0.0.1:$PNS$u"; do
		[ "$(get -k "$url" | sha256sum)" = "$h" ] ||
		    { say "$url: other bytes than cairn-pubd's"; exit 1; }
	done
done
NWORKER=$(ps -o pid= --ppid "$NMASTER" | head -1 | tr -d ' ')
size_n=$(stat -c %s "$W/nginx/www/rrdp/notification.xml")
size_s=$(stat -c %s "$W/nginx/www$snap")

# to_ms VALUE: wrk's "123.45us" / "1.2ms" / "3.1s" in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0;
	    if (u == "us") x /= 1000; else if (u == "s") x *= 1000;
	    else if (u == "m") x *= 60000; printf "%.3f", x }'
}
# cpu PID: user + system clock ticks of the process (all its threads).
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run URL CONNS PID: "rps p50-ms p99-ms MB/s cpu-us/request" of one wrk run
# against the server process PID.
run() {
	local out rps p50 p99 tr c0 c1 nreq
	c0=$(cpu "$3")
	out=$(wrk -t1 -c"$2" -d"${SECS}s" --timeout 10s --latency "$1" 2>&1)
	c1=$(cpu "$3")
	nreq=$(awk '/requests in/ { print $1 }' <<<"$out")
	if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
		say "wrk saw errors on $1:" >&2
		grep 'Non-2xx\|Socket errors' <<<"$out" >&2
	fi
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	tr=$(awk '/^Transfer\/sec:/ { v = $2; u = v; sub(/^[0-9.]+/, "", u);
	    x = v + 0; if (u == "KB") x /= 1024; else if (u == "GB") x *= 1024;
	    printf "%.1f", x }' <<<"$out")
	echo "${rps:-0} $(to_ms "${p50:-0}") $(to_ms "${p99:-0}") ${tr:-0}" \
	    "$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="${nreq:-0}" \
	    'BEGIN { printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0) }')"
}

say "notification $size_n bytes, snapshot $size_s bytes; wrk -t1 --latency,"
say "best of $ROUNDS runs of $SECS s, $CONNS connections (snapshot: 4), loopback"
printf '%-13s %-6s %11s %9s %9s %9s %9s %11s\n' file proto server req/s \
    p50-ms p99-ms MB/s "cpu-us/req"
for f in notification snapshot; do
	if [ "$f" = notification ]; then u=/rrdp/notification.xml; c=$CONNS
	else u=$snap; c=4; fi
	for proto in http https; do
		if [ "$proto" = http ]; then pc=$PC; pn=$PN; cp=$CPID
		else pc=$PCS; pn=$PNS; cp=$CPIDS; fi
		# Alternating rounds, the best of each server: the machine is shared.
		cr=0 nr=0
		for _ in $(seq "$ROUNDS"); do
			read -r r1 r2 r3 r4 r5 <<<"$(run \
			    "$proto://127.0.0.1:$pc$u" "$c" "$cp")"
			awk -v a="$r1" -v b="$cr" 'BEGIN { exit !(a > b) }' &&
			    { cr=$r1 c50=$r2 c99=$r3 cmb=$r4 ccpu=$r5; }
			read -r r1 r2 r3 r4 r5 <<<"$(run \
			    "$proto://127.0.0.1:$pn$u" "$c" "$NWORKER")"
			awk -v a="$r1" -v b="$nr" 'BEGIN { exit !(a > b) }' &&
			    { nr=$r1 n50=$r2 n99=$r3 nmb=$r4 ncpu=$r5; }
		done
		printf '%-13s %-6s %11s %9.0f %9.2f %9.2f %9.0f %11s\n' \
		    "$f" "$proto" cairn-pubd "$cr" "$c50" "$c99" "$cmb" "$ccpu"
		printf '%-13s %-6s %11s %9.0f %9.2f %9.2f %9.0f %11s\n' \
		    "" "" nginx "$nr" "$n50" "$n99" "$nmb" "$ncpu"
		awk -v cr="$cr" -v nr="$nr" -v c50="$c50" -v n50="$n50" \
		    -v c99="$c99" -v n99="$n99" -v cc="$ccpu" -v nc="$ncpu" \
		    -v f="$f" -v p="$proto" 'BEGIN {
			printf "  ratio cairn-pubd/nginx (>= 1: as good) %s %s: " \
			    "req/s %.2f, p50 %.2f, p99 %.2f, cpu %.2f\n", f, p,
			    (nr > 0 ? cr / nr : 0), (c50 > 0 ? n50 / c50 : 0),
			    (c99 > 0 ? n99 / c99 : 0), (cc > 0 ? nc / cc : 0) }'
	done
done
