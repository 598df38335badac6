#!/bin/bash
# The Cairn demo on one Debian 12 machine, as root:
#
#   deploy/demo.sh up       install packages, build, start cairnd (CA engine
#                           and provisioning API on an embedded PostgreSQL,
#                           CA keys in a SoftHSM2 token), create the RPKI of
#                           deploy/demo-repo.txt with the cairn CLI (trust
#                           anchor, RIR CA, member CAs, ROAs, ASPAs), start
#                           cairn-pubd (RRDP over HTTPS, rsync tree) on the
#                           same database and rsyncd, and validate it all
#                           with rpki-client and FORT over RRDP and rsync
#   deploy/demo.sh status   validate again and show the VRPs
#   deploy/demo.sh apply F  apply another description file (more CAs, ROAs)
#                           through the cairn CLI
#   deploy/demo.sh down     stop everything "up" started
#
# "up" again is harmless: what runs keeps running, what exists is kept.
# State lives in $DEMO_DIR (default /var/lib/cairn-demo: the embedded
# PostgreSQL runs as the system user cairn and must reach its directory).
# rsyncd listens on 127.0.0.1:$DEMO_RSYNC_PORT (default 8873), RRDP on
# https://127.0.0.1:$DEMO_HTTPS_PORT/ (default 8443) with a demo CA's
# certificate ($DEMO_DIR/tls/ca.pem), the API on
# http://127.0.0.1:$DEMO_API_PORT/ (default 8480) with an admin token in
# $DEMO_DIR/admin.token.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
DEMO_DIR=${DEMO_DIR:-/var/lib/cairn-demo}
port=${DEMO_RSYNC_PORT:-8873}
hport=${DEMO_HTTPS_PORT:-8443}
aport=${DEMO_API_PORT:-8480}
api=http://127.0.0.1:$aport
base=rsync://127.0.0.1:$port/repo/
https=https://127.0.0.1:$hport/
# DEMO_BUILD_DIR and DEMO_SKIP_BUILD=1 let the tests run the demo on the
# binaries they built.
bdir=${DEMO_BUILD_DIR:-$top/build}
cairnd=$bdir/ca/cairnd
pubd=$bdir/publish/cairn-pubd
cairn=$bdir/api/cairn
export SOFTHSM2_CONF=$DEMO_DIR/softhsm2.conf
# The demo's trust anchor: the first "ta" line of the description.
ta=$(awk '$1 == "ta" { print $2; exit }' "$top/deploy/demo-repo.txt")

die() { echo "demo: $*" >&2; exit 1; }

running() {	# pidfile
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

setup_token() {
	[ -d "$DEMO_DIR/tokens" ] && return 0
	mkdir -p "$DEMO_DIR/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\n' \
	    "$DEMO_DIR/tokens" >"$SOFTHSM2_CONF"
	# A demo PIN, kept in a file readable by root only.
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DEMO_DIR/pin"
	chmod 600 "$DEMO_DIR/pin"
	softhsm2-util --init-token --free --label cairn-demo \
	    --pin "$(cat "$DEMO_DIR/pin")" --so-pin "$(cat "$DEMO_DIR/pin")" \
	    >/dev/null || die "softhsm2-util --init-token failed"
}

write_conf() {
	cat >"$DEMO_DIR/cairnd.conf" <<CONF
# cairnd configuration of the demo (see docs/cairnd.md).
data-dir = $DEMO_DIR/data
[hsm]
backend = pkcs11
module = /usr/lib/softhsm/libsofthsm2.so
token = cairn-demo
pin-file = $DEMO_DIR/pin
ee-threads = 1
[repository]
rsync-base = $base
https-base = $https
notify-uri = ${https}rrdp/notification.xml
[engine]
tick = 5s
workers = 2
[api]
address = 127.0.0.1
port = $aport
CONF
	# The same data directory: cairn-pubd uses the cluster cairnd runs.
	cat >"$DEMO_DIR/pubd.conf" <<CONF
# cairn-pubd configuration of the demo (see docs/pubd.md).
data-dir = $DEMO_DIR/data
[rrdp]
base-uri = ${https}rrdp/
interval = 5s
[http]
listen = 127.0.0.1
port = $hport
tls-cert = $DEMO_DIR/tls/srv.pem
tls-key = $DEMO_DIR/tls/srv.key
static-dir = $DEMO_DIR/static
[rsync]
base-uri = $base
dir = $DEMO_DIR/rsync
CONF
}

# A demo CA and a certificate for 127.0.0.1 signed by it (RRDP over HTTPS).
setup_tls() {
	local d=$DEMO_DIR/tls
	[ -s "$d/srv.pem" ] && return 0
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" \
	    -out "$d/ca.pem" -subj /CN=cairn-demo-ca -days 365 \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$d/srv.key" \
	    -out "$d/srv.csr" -subj /CN=127.0.0.1 2>/dev/null &&
	printf '%s\n' 'subjectAltName=IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
	    'keyUsage=critical,digitalSignature,keyEncipherment' \
	    'extendedKeyUsage=serverAuth' >"$d/srv.ext" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -out "$d/srv.pem" -days 365 -extfile "$d/srv.ext" \
	    2>/dev/null || die "cannot make the demo TLS certificates"
	chmod 644 "$d/ca.pem" "$d/srv.pem"
}

pubd_start() {
	running "$DEMO_DIR/pubd.pid" && return 0
	if [ ! -e "$DEMO_DIR/rsync/current" ]; then
		mkdir -p "$DEMO_DIR/rsync/trees/1"
		ln -s trees/1 "$DEMO_DIR/rsync/current"
		chmod -R a+rX "$DEMO_DIR/rsync"
	fi
	nohup "$pubd" -c "$DEMO_DIR/pubd.conf" >>"$DEMO_DIR/pubd.log" 2>&1 &
	echo $! >"$DEMO_DIR/pubd.pid"
	# Wait for the first RRDP serial.
	for _ in $(seq 150); do
		curl -s --cacert "$DEMO_DIR/tls/ca.pem" \
		    "${https}rrdp/notification.xml" 2>/dev/null |
		    grep -q 'serial="[1-9]' && return 0
		running "$DEMO_DIR/pubd.pid" ||
		    die "cairn-pubd stopped; see $DEMO_DIR/pubd.log"
		sleep 0.2
	done
	die "cairn-pubd published nothing; see $DEMO_DIR/pubd.log"
}

rsyncd_start() {
	running "$DEMO_DIR/rsyncd.pid" && return 0
	cat >"$DEMO_DIR/rsyncd.conf" <<CONF
pid file = $DEMO_DIR/rsyncd.pid
log file = $DEMO_DIR/rsyncd.log
address = 127.0.0.1
port = $port
use chroot = no
uid = nobody
gid = nogroup
[repo]
path = $DEMO_DIR/rsync/current/
read only = yes
CONF
	rsync --daemon --config="$DEMO_DIR/rsyncd.conf" ||
	    die "rsyncd did not start; see $DEMO_DIR/rsyncd.log"
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	die "rsyncd is not listening on 127.0.0.1:$port (port busy?)"
}

cairnd_start() {
	if ! running "$DEMO_DIR/cairnd.pid"; then
		nohup "$cairnd" -c "$DEMO_DIR/cairnd.conf" run \
		    >>"$DEMO_DIR/cairnd.log" 2>&1 &
		echo $! >"$DEMO_DIR/cairnd.pid"
	fi
	# Up when its API answers.
	for _ in $(seq 300); do
		"$cairn" --url "$api" status >/dev/null 2>&1 && return 0
		running "$DEMO_DIR/cairnd.pid" ||
		    die "cairnd stopped; see $DEMO_DIR/cairnd.log"
		sleep 0.2
	done
	die "cairnd's API does not answer on $api; see $DEMO_DIR/cairnd.log"
}

# The admin token of the API, made once on the CA host (cairnd token) and
# kept in $DEMO_DIR/admin.token, readable by root only.
admin_token() {
	local t name=demo-admin
	[ -s "$DEMO_DIR/admin.token" ] && return 0
	# A token of that name from an earlier demo whose file is gone.
	"$cairnd" -c "$DEMO_DIR/cairnd.conf" token list 2>/dev/null |
	    grep -q "^$name	" && name=demo-admin-$(date +%s)
	t=$("$cairnd" -c "$DEMO_DIR/cairnd.conf" token create --admin "$name" \
	    2>>"$DEMO_DIR/cairnd.log" | tail -n 1)
	case $t in
	cairn_*) ;;
	*) die "cairnd token create failed; see $DEMO_DIR/cairnd.log" ;;
	esac
	(umask 077 && printf '%s\n' "$t" >"$DEMO_DIR/admin.token")
}

# The cairn CLI against the demo's API, as the admin.
cli() {
	CAIRN_URL=$api CAIRN_TOKEN=$(cat "$DEMO_DIR/admin.token") "$cairn" "$@"
}

# Runs and shows one cairn command; its output goes to cli.log.
cli_do() {
	echo "  cairn $*"
	echo "\$ cairn $*" >>"$DEMO_DIR/cli.log"
	cli "$@" >>"$DEMO_DIR/cli.log" 2>&1 ||
	    die "cairn $* failed; see $DEMO_DIR/cli.log"
}

# as=A v4=B v6=C words into the CLI's --asn/--ipv4/--ipv6 options.
res_opts() {
	local w
	for w in "$@"; do
		case $w in
		as=*) printf '%s\n' --asn "${w#as=}" ;;
		v4=*) printf '%s\n' --ipv4 "${w#v4=}" ;;
		v6=*) printf '%s\n' --ipv6 "${w#v6=}" ;;
		*) die "$w: resources are as=, v4= or v6=" ;;
		esac
	done
}

# Applies a description file (the syntax of deploy/demo-repo.txt) through
# the cairn CLI.  Additive and idempotent, like "cairnd apply": what exists
# is kept (a CA whose resources differ is re-certified), missing CAs and
# ROA configurations are created, ASPAs are set.
apply_desc() {
	local file=$1 line kind name parent ca asn p m list opts
	while IFS= read -r line; do
		line=${line%%#*}
		# shellcheck disable=SC2086
		set -- $line
		[ $# = 0 ] && continue
		kind=$1
		shift
		case $kind in
		ta)
			name=$1
			shift
			cli ta show "$name" >/dev/null 2>&1 && continue
			mapfile -t opts < <(res_opts "$@")
			cli_do ta create "$name" "${opts[@]}" ;;
		ca)
			name=$1 parent=$2
			shift 2
			mapfile -t opts < <(res_opts "$@")
			if cli ca show "$name" >/dev/null 2>&1; then
				# Unchanged resources change nothing.
				cli ca resources "$name" "${opts[@]}" \
				    >>"$DEMO_DIR/cli.log" 2>&1 ||
				    die "cairn ca resources $name failed; see $DEMO_DIR/cli.log"
			else
				cli_do ca create "$name" --parent "$parent" "${opts[@]}"
			fi ;;
		roa)
			ca=$1 asn=$2
			shift 2
			list=$(cli roa list "$ca" 2>/dev/null | awk 'NR > 1 {
			    print $1 " " $2 " " $3 }')
			for p in "$@"; do
				m=${p##*/}
				case $p in
				*-*) m=${p##*-}; p=${p%-*} ;;
				esac
				m=${m%%-*}
				grep -Fqx "AS$asn $p $m" <<<"$list" && continue
				cli_do roa add "$ca" "AS$asn" "$p" --max-length "$m"
			done ;;
		aspa)
			cli_do aspa set "$1" "AS$2" "$3" ;;
		*)
			die "$kind: unknown line in the description" ;;
		esac
	done <"$file"
}

# expected-vrps.csv and expected-aspa.txt from the configuration that was
# applied (deploy/demo-repo.txt and every "demo.sh apply" file since), not
# from a validator: what a validator should output.
expected() {
	cat "$top/deploy/demo-repo.txt" "$DEMO_DIR/applied.txt" 2>/dev/null |
	    sed 's/#.*//' | awk '
	$1 == "roa" {
		for (i = 4; i <= NF; i++) {
			p = $i; m = ""
			if (match(p, /-[0-9]+$/)) {
				m = substr(p, RSTART + 1); p = substr(p, 1, RSTART - 1)
			} else {
				m = substr(p, index(p, "/") + 1)
			}
			print "AS" $3 "," p "," m
		}
	}' | LC_ALL=C sort -u >"$DEMO_DIR/expected-vrps.csv"
	cat "$top/deploy/demo-repo.txt" "$DEMO_DIR/applied.txt" 2>/dev/null |
	    sed 's/#.*//' | awk '
	$1 == "aspa" { last[$3] = $4 }
	END {
		for (c in last) {
			n = split(last[c], p, ",")
			line = "AS" c ":"
			# providers ascending, as in the ASPA object
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (p[j] + 0 < p[i] + 0) { t = p[i]; p[i] = p[j]; p[j] = t }
			for (i = 1; i <= n; i++)
				line = line " AS" p[i]
			print line
		}
	}' | LC_ALL=C sort >"$DEMO_DIR/expected-aspa.txt"
}

validate() {
	local rp t ok=0 out
	# shellcheck source=../tests/rp/rp.sh
	. "$top/tests/rp/rp.sh"
	RP_WORK=$DEMO_DIR
	RP_HTTPS_CA=$DEMO_DIR/tls/ca.pem
	cli ta tal "$ta" >"$DEMO_DIR/cairn-demo.tal" 2>>"$DEMO_DIR/cli.log" ||
	    die "no TAL; see $DEMO_DIR/cli.log"
	cp "$DEMO_DIR/cairn-demo.tal" "$DEMO_DIR/ta.tal"
	cp "$DEMO_DIR/tls/ca.pem" "$DEMO_DIR/tls-ca.pem"
	chmod 644 "$DEMO_DIR/cairn-demo.tal" "$DEMO_DIR/ta.tal" "$DEMO_DIR/tls-ca.pem"
	expected
	for t in rrdp rsync; do
		for rp in rpki-client fort; do
			out=$DEMO_DIR/validate-$rp-$t
			rp_validate "$rp" "$t" "$DEMO_DIR/cairn-demo.tal" "$out" ||
			    { ok=1; continue; }
			printf '%-11s over %-5s: %d VRPs, ' "$rp" "$t" \
			    "$(wc -l <"$out/vrps")"
			# rpki-client 8.2 predates ASPA profile v1 (docs/testing.md).
			grep -v -E 'ASProviderAttestation$|asn1 encoding routines|failedaspas=' \
			    "$out/complaints" >"$out/other"
			if [ -s "$out/other" ]; then
				echo "complaints:"
				sed 's/^/  /' "$out/other"
				ok=1
			else
				echo "no complaints about our objects"
			fi
			tr ' ' ',' <"$out/vrps" | sed 's/,\([0-9]*\)$/,\1/' |
			    LC_ALL=C sort -u >"$out/vrps.csv"
			if ! diff -q "$DEMO_DIR/expected-vrps.csv" "$out/vrps.csv" \
			    >/dev/null; then
				echo "  VRPs differ from expected-vrps.csv:"
				diff "$DEMO_DIR/expected-vrps.csv" "$out/vrps.csv" |
				    sed 's/^/    /'
				ok=1
			fi
		done
	done
	echo "VRPs:"
	sed 's/^/  /' "$DEMO_DIR/validate-rpki-client-rrdp/vrps" 2>/dev/null
	return $ok
}

up() {
	[ "$(id -u)" = 0 ] || die "run as root (packages, the cairn user)"
	if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
		"$top/deploy/install-deps.sh" demo || die "installing packages failed"
	fi
	if [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
		echo "demo: building (build/)"
		cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		    >build.cmake.log 2>&1 &&
		    cmake --build build -j"$(nproc)" --target cairnd cairn-pubd \
		    cairn >build.build.log 2>&1 ||
		    { tail -n 30 build.cmake.log build.build.log; die "build failed"; }
	fi
	mkdir -p "$DEMO_DIR/data" "$DEMO_DIR/static"
	chmod 755 "$DEMO_DIR" "$DEMO_DIR/data"
	setup_token
	setup_tls
	write_conf
	cairnd_start
	admin_token
	echo "demo: cairnd running, API on $api"
	echo "demo: creating deploy/demo-repo.txt with the cairn CLI"
	apply_desc "$top/deploy/demo-repo.txt"
	# The TA certificate at the https URI of the TAL (cairn-pubd serves
	# static-dir, read when it starts).
	cli ta show "$ta" --cert "$DEMO_DIR/static/$ta.cer" >/dev/null \
	    2>>"$DEMO_DIR/cli.log" || die "no TA certificate; see $DEMO_DIR/cli.log"
	chmod 644 "$DEMO_DIR/static/$ta.cer"
	pubd_start
	rsyncd_start
	echo "demo: cairnd and cairn-pubd running (logs in $DEMO_DIR)"
	echo "demo: RRDP ${https}rrdp/notification.xml, rsync $base"
	validate
	local rc=$?
	cat <<MSG

TAL: $DEMO_DIR/ta.tal   (HTTPS CA of the demo: $DEMO_DIR/tls-ca.pem)
Expected: $DEMO_DIR/expected-vrps.csv, $DEMO_DIR/expected-aspa.txt
Validate: mkdir -p /tmp/rc-cache /tmp/rc-out && SSL_CERT_FILE=$DEMO_DIR/tls-ca.pem \\
            rpki-client -t $DEMO_DIR/ta.tal -d /tmp/rc-cache /tmp/rc-out
API:      export CAIRN_URL=$api CAIRN_TOKEN=\$(cat $DEMO_DIR/admin.token)
          $cairn ca list
          $cairn roa add acme AS64496 10.1.64.0/18 --max-length 24
Try:      curl --cacert $DEMO_DIR/tls-ca.pem ${https}rrdp/notification.xml
          rsync -r $base
          deploy/demo.sh apply FILE   (same syntax as deploy/demo-repo.txt)
          deploy/demo.sh status       deploy/demo.sh down
Logs:     $DEMO_DIR/cairnd.log $DEMO_DIR/pubd.log $DEMO_DIR/cli.log
MSG
	echo "demo-dir: $DEMO_DIR"
	return $rc
}

down() {
	local f stopped=0
	# cairnd last: it owns the embedded PostgreSQL.
	for f in pubd rsyncd cairnd; do
		if running "$DEMO_DIR/$f.pid"; then
			kill "$(cat "$DEMO_DIR/$f.pid")"
			stopped=1
			echo "demo: $f stopped"
			[ "$f" = cairnd ] && sleep 2
		fi
	done
	[ "$stopped" = 1 ] || echo "demo: nothing running"
}

case "${1:-}" in
up) up ;;
down) down ;;
status)
	running "$DEMO_DIR/cairnd.pid" || die "not running; start with: deploy/demo.sh up"
	validate ;;
apply)
	[ $# = 2 ] || die "usage: $0 apply FILE"
	running "$DEMO_DIR/cairnd.pid" || die "not running; start with: deploy/demo.sh up"
	apply_desc "$2"
	# What a validator should now see.
	cat "$2" >>"$DEMO_DIR/applied.txt"
	expected ;;
*) echo "usage: $0 up|status|apply FILE|down" >&2; exit 2 ;;
esac
