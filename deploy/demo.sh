#!/bin/bash
# The Cairn demo on one Debian 12 machine, as root:
#
#   deploy/demo.sh up       install packages, build, start cairnd (CA engine
#                           on an embedded PostgreSQL, CA keys in a SoftHSM2
#                           token), issue the RPKI of deploy/demo-repo.txt,
#                           serve it over rsync, validate it with rpki-client
#                           and FORT
#   deploy/demo.sh status   validate again and show the VRPs
#   deploy/demo.sh apply F  apply another description file (more CAs, ROAs)
#   deploy/demo.sh down     stop everything "up" started
#
# State lives in $DEMO_DIR (default /var/lib/cairn-demo: the embedded
# PostgreSQL runs as the system user cairn and must reach its directory).
# rsyncd listens on 127.0.0.1:$DEMO_RSYNC_PORT (default 8873).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
DEMO_DIR=${DEMO_DIR:-/var/lib/cairn-demo}
port=${DEMO_RSYNC_PORT:-8873}
base=rsync://127.0.0.1:$port/repo/
cairnd=$top/build/ca/cairnd
export SOFTHSM2_CONF=$DEMO_DIR/softhsm2.conf

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
export-dir = $DEMO_DIR/rsync
[engine]
tick = 5s
CONF
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
	running "$DEMO_DIR/cairnd.pid" && return 0
	nohup "$cairnd" -c "$DEMO_DIR/cairnd.conf" run \
	    >>"$DEMO_DIR/cairnd.log" 2>&1 &
	echo $! >"$DEMO_DIR/cairnd.pid"
	# Wait for the first export of the repository.
	for _ in $(seq 100); do
		[ -e "$DEMO_DIR/rsync/current" ] && return 0
		running "$DEMO_DIR/cairnd.pid" ||
		    die "cairnd stopped; see $DEMO_DIR/cairnd.log"
		sleep 0.2
	done
	die "cairnd exported nothing; see $DEMO_DIR/cairnd.log"
}

validate() {
	local rp ok=0
	# shellcheck source=../tests/rp/rp.sh
	. "$top/tests/rp/rp.sh"
	RP_WORK=$DEMO_DIR
	"$cairnd" -c "$DEMO_DIR/cairnd.conf" tal ta >"$DEMO_DIR/cairn-demo.tal" \
	    2>>"$DEMO_DIR/cairnd.log" || die "no TAL; see $DEMO_DIR/cairnd.log"
	chmod 644 "$DEMO_DIR/cairn-demo.tal"
	for rp in rpki-client fort; do
		rp_validate "$rp" rsync "$DEMO_DIR/cairn-demo.tal" \
		    "$DEMO_DIR/validate-$rp" || { ok=1; continue; }
		printf '%s over rsync: %d VRPs, ' "$rp" \
		    "$(wc -l <"$DEMO_DIR/validate-$rp/vrps")"
		# rpki-client 8.2 predates ASPA profile v1 (see docs/testing.md).
		grep -v -E 'ASProviderAttestation$|asn1 encoding routines|failedaspas=' \
		    "$DEMO_DIR/validate-$rp/complaints" >"$DEMO_DIR/validate-$rp/other"
		if [ -s "$DEMO_DIR/validate-$rp/other" ]; then
			echo "complaints:"
			sed 's/^/  /' "$DEMO_DIR/validate-$rp/other"
			ok=1
		else
			echo "no complaints about our objects"
		fi
	done
	echo "VRPs:"
	sed 's/^/  /' "$DEMO_DIR/validate-rpki-client/vrps" 2>/dev/null
	return $ok
}

up() {
	[ "$(id -u)" = 0 ] || die "run as root (packages, the cairn user)"
	if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
		"$top/deploy/install-deps.sh" demo || die "installing packages failed"
	fi
	echo "demo: building (build/)"
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build.cmake.log 2>&1 &&
	    cmake --build build -j"$(nproc)" --target cairnd >build.build.log 2>&1 ||
	    { tail -n 30 build.cmake.log build.build.log; die "build failed"; }
	mkdir -p "$DEMO_DIR/data"
	chmod 755 "$DEMO_DIR" "$DEMO_DIR/data"
	setup_token
	write_conf
	echo "demo: applying deploy/demo-repo.txt (TA, RIR CA, members, ROAs, ASPAs)"
	"$cairnd" -c "$DEMO_DIR/cairnd.conf" apply "$top/deploy/demo-repo.txt" \
	    >>"$DEMO_DIR/cairnd.log" 2>&1 || die "apply failed; see $DEMO_DIR/cairnd.log"
	cairnd_start
	rsyncd_start
	echo "demo: cairnd running (log $DEMO_DIR/cairnd.log), serving $base"
	validate
	local rc=$?
	cat <<MSG

TAL: $DEMO_DIR/cairn-demo.tal
Try: rsync -r $base
     deploy/demo.sh apply FILE   (same syntax as deploy/demo-repo.txt)
     deploy/demo.sh status       deploy/demo.sh down
MSG
	return $rc
}

down() {
	local f stopped=0
	for f in cairnd rsyncd; do
		if running "$DEMO_DIR/$f.pid"; then
			kill "$(cat "$DEMO_DIR/$f.pid")"
			stopped=1
			echo "demo: $f stopped"
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
	"$cairnd" -c "$DEMO_DIR/cairnd.conf" apply "$2" ;;
*) echo "usage: $0 up|status|apply FILE|down" >&2; exit 2 ;;
esac
