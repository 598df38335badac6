#!/bin/bash
#
# cairn-pubd: the leader killed (kill -9) in the middle of building a
# serial.  The builder's test hook (CAIRN_PUBD_TEST_PAUSE, publish/
# pub_hook.h) stops it at a known point inside the serial's transaction,
# so the kill points are deterministic:
#   1. leader A at "locked" of serial 2 (pending changes read and locked,
#      nothing written): standby B takes over;
#   2. B at "stored" of serial 2 (every row written, not committed; the
#      database and the replica must still show serial 1): C takes over
#      and publishes serial 2;
#   3. C at "locked" of serial 3, while more changes arrive (one of them
#      replaces an object of the locked batch): D takes over and
#      publishes both batches as serial 3;
#   4. D at "snapshot" of serial 4 (serial 4 committed, its snapshot and
#      notification written by the leader's worker but not committed):
#      E takes over and writes them.
# A replica (leader = no) is polled all along.  Checks: each kill is
# followed by the next serial within seconds; one session; serials 1..4
# contiguous in the database, every change consumed; the replica never
# served two different notifications for one serial; its final
# notification lists deltas 2..4 whose bytes hash as listed and as stored,
# the snapshot matches the files published, the replica and the last
# leader serve identical bytes.
#
#   pubd_leader_kill.sh path/to/cairn-pubd
set -u
PUBD=${1:?usage: $0 cairn-pubd}
FAILED=0
PIDS=()
POLLER=

fail() { echo "FAIL: $*" >&2; FAILED=1; }
die() { echo "FAIL: $*" >&2; exit 1; }

W=$(mktemp -d /tmp/cairn-pubd-kill.XXXXXX) || exit 1
chmod 755 "$W"
cleanup() {
	local p
	[ -n "$POLLER" ] && kill "$POLLER" 2>/dev/null && wait "$POLLER" 2>/dev/null
	# Paused processes would finish their pause first: kill them.
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
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
USED=" "
# free_port VAR: a free port not handed out before (no subshell: it would
# repeat the parent's $RANDOM sequence).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))	# below the ephemeral range
		case $USED in *" $p "*) continue ;; esac
		port_free "$p" && { USED="$USED$p "; printf -v "$1" %s "$p"; return 0; }
	done
	return 1
}
BASE=https://rrdp.example.net/rrdp/
DSN="host=$W/d1/pg/run port=5432 user=cairn dbname=cairn"

# conf NAME PORT extra-rrdp-lines...: NAME.conf; all but "a" use a's cluster.
conf() {
	local n=$1 p=$2
	shift 2
	mkdir -p "$W/d-$n"
	{
		if [ "$n" = a ]; then
			echo "data-dir = $W/d1"
		else
			echo "data-dir = $W/d-$n"
			echo "[db]"
			echo "dsn = $DSN"
		fi
		echo "[rrdp]"
		echo "base-uri = $BASE"
		echo "interval = 1s"
		printf '%s\n' "$@"
		echo "[http]"
		echo "listen = 127.0.0.1"
		echo "port = $p"
		echo "access-log = off"
		echo "[rsync]"
		echo "base-uri = rsync://rsync.example.net/repo/"
	} >"$W/$n.conf"
}
for n in a r b c d e; do
	free_port "PORT_$n" || die "no free port"
done
mkdir -p "$W/d1" "$W/objs" && chmod 755 "$W/d1"
conf a "$PORT_a"
conf r "$PORT_r" "leader = no"
# The replica also serves a static file larger than the socket buffers.
mkdir -p "$W/static" && head -c 15000000 /dev/urandom >"$W/static/big.bin"
sed -i "s|^access-log = off$|access-log = off\nstatic-dir = $W/static|" "$W/r.conf"
conf b "$PORT_b"
conf c "$PORT_c"
conf d "$PORT_d"
conf e "$PORT_e"

# start NAME [PAUSE]: a process; PAUSE is its CAIRN_PUBD_TEST_PAUSE.
declare -A PID
start() {
	if [ -n "${2:-}" ]; then
		CAIRN_PUBD_TEST_PAUSE=$2 "$PUBD" -c "$W/$1.conf" >"$W/$1.log" 2>&1 &
	else
		"$PUBD" -c "$W/$1.conf" >"$W/$1.log" 2>&1 &
	fi
	PID[$1]=$!
	PIDS+=($!)
}
get() { curl -s "http://127.0.0.1:$1$2"; }
serial_of() { sed -n 's/.* serial="\([0-9]*\)">$/\1/p' | head -1; }
logs() { for f in "$W"/*.log; do echo "== $f"; grep -v '\] "GET ' "$f"; done >&2; }

# wait_serial PORT N: until the server on PORT serves serial N.
wait_serial() {
	for _ in $(seq 300); do
		[ "$(get "$1" /rrdp/notification.xml | serial_of)" = "$2" ] &&
		    return 0
		sleep 0.1
	done
	logs
	die "port $1 did not serve serial $2"
}
# wait_log NAME TEXT: until NAME's log shows TEXT.
wait_log() {
	for _ in $(seq 300); do
		grep -q -- "$2" "$W/$1.log" && return 0
		kill -0 "${PID[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	logs
	die "$1 did not log \"$2\""
}
# kill_at NAME: kills NAME (SIGKILL) and remembers when.
kill_at() {
	kill -9 "${PID[$1]}" || die "kill $1"
	wait "${PID[$1]}" 2>/dev/null
	T_KILL=$(date +%s.%N)
}
# took_over NAME N: NAME is the leader now and the replica serves N.
took_over() {
	wait_serial "$PORT_r" "$2"
	echo "serial $2 on the replica $(since_kill) s after the kill"
	grep -q "leader: this process builds" "$W/$1.log" ||
	    fail "$1 did not take over"
}
since_kill() { awk -v a="$T_KILL" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
sql() { psql -X -q -t -A "$DSN" -c "$1"; }

sync_objs() { "$PUBD" -c "$W/a.conf" sync ca1 "$W/objs" >/dev/null || die "sync $1"; }

for i in $(seq -w 1 40); do
	head -c $((300 + 10#$i * 11)) /dev/urandom >"$W/objs/obj$i.roa"
done
sync_objs 1
start a "locked:2"
wait_serial "$PORT_a" 1
start r
wait_serial "$PORT_r" 1

# The replica's notifications, as seen all along: "serial sha256".
(
	while :; do
		n=$(get "$PORT_r" /rrdp/notification.xml)
		s=$(serial_of <<<"$n")
		[ -n "$s" ] && echo "$s $(sha256sum <<<"$n" | cut -d' ' -f1)"
		sleep 0.1
	done >"$W/seen"
) &
POLLER=$!

# 1. A killed with the batch of serial 2 locked, nothing written.
start b "stored:2"
wait_serial "$PORT_b" 1
head -c 333 /dev/urandom >"$W/objs/obj01.roa"
head -c 444 /dev/urandom >"$W/objs/obj02.roa"
rm "$W/objs/obj03.roa"
head -c 555 /dev/urandom >"$W/objs/new1.roa"
sync_objs 2
wait_log a "test hook: pausing at locked of serial 2"
grep -q "leader: this process builds" "$W/b.log" &&
    fail "the standby led while the leader was alive"
kill_at a

# 2. B killed with serial 2 written but not committed.
wait_log b "test hook: pausing at stored of serial 2"
echo "B holds uncommitted serial 2 $(since_kill) s after A's kill"
start c "locked:3"
wait_serial "$PORT_c" 1
[ "$(sql "SELECT coalesce(max(serial), 0) FROM rrdp_serial")" = 1 ] ||
    fail "an uncommitted serial is visible"
[ "$(get "$PORT_r" /rrdp/notification.xml | serial_of)" = 1 ] ||
    fail "the replica serves an uncommitted serial"
[ "$(sql "SELECT count(*) FROM pub_change WHERE serial IS NULL")" = 4 ] ||
    fail "the batch of serial 2 is not pending"
kill_at b
took_over c 2

# 3. C killed with the batch of serial 3 locked while more changes arrive.
start d "snapshot:4"
wait_serial "$PORT_d" 2
head -c 666 /dev/urandom >"$W/objs/obj04.roa"
head -c 777 /dev/urandom >"$W/objs/new2.roa"
sync_objs 3
wait_log c "test hook: pausing at locked of serial 3"
head -c 888 /dev/urandom >"$W/objs/obj04.roa"	# again, in a later batch
rm "$W/objs/obj05.roa"
sync_objs 3b
kill_at c
took_over d 3

# 4. D killed while its worker writes the snapshot of serial 4.
start e
wait_serial "$PORT_e" 3
head -c 999 /dev/urandom >"$W/objs/obj06.roa"
sync_objs 4
wait_log d "test hook: pausing at snapshot of serial 4"
[ "$(sql "SELECT serial FROM rrdp_serial WHERE snapshot IS NULL")" = 4 ] ||
    fail "serial 4 is not committed without its snapshot"
[ "$(get "$PORT_r" /rrdp/notification.xml | serial_of)" = 3 ] ||
    fail "the replica serves an uncommitted notification"
kill_at d
took_over e 4
sleep 1.5	# a few more polls of serial 4
kill "$POLLER" 2>/dev/null
wait "$POLLER" 2>/dev/null
POLLER=

# The database: one session, serials 1..4, every change consumed.
[ "$(sql "SELECT count(*) FROM rrdp_session")" = 1 ] ||
    fail "more than one session: $(sql "SELECT id FROM rrdp_session")"
[ "$(sql "SELECT string_agg(serial::text, ' ' ORDER BY serial) FROM
    rrdp_serial")" = "1 2 3 4" ] ||
    fail "serials: $(sql "SELECT serial FROM rrdp_serial ORDER BY 1")"
[ "$(sql "SELECT count(*) FROM pub_change WHERE serial IS NULL")" = 0 ] ||
    fail "changes left pending"
[ "$(sql "SELECT count(*) FROM pub_object")" = 40 ] ||
    fail "pub_object: $(sql "SELECT count(*) FROM pub_object") objects"

# The replica never served two notifications for one serial.
sort -u "$W/seen" >"$W/seen.u"
[ "$(cut -d' ' -f1 "$W/seen.u" | uniq -d)" = "" ] ||
    fail "one serial, different notifications: $(cat "$W/seen.u")"
for s in 1 2 3 4; do
	grep -q "^$s " "$W/seen.u" || fail "the replica never served serial $s"
done

# Its files: hashes as listed and as stored, deltas 2..4, the content.
path_of() { sed 's|https://rrdp.example.net||'; }
n=$(get "$PORT_r" /rrdp/notification.xml)
[ "$n" = "$(get "$PORT_e" /rrdp/notification.xml)" ] ||
    fail "the replica and the leader serve different notifications"
sess=$(sed -n 's/.*session_id="\([0-9a-f-]*\)".*/\1/p' <<<"$n" | head -1)
[ "$sess" = "$(sql "SELECT id FROM rrdp_session")" ] || fail "session $sess"
for s in 2 3 4; do
	l=$(grep -o "<delta serial=\"$s\" uri=\"[^\"]*\" hash=\"[0-9a-f]*\"" \
	    <<<"$n") || { fail "delta $s not listed"; continue; }
	uri=$(sed 's/.*uri="\([^"]*\)".*/\1/' <<<"$l")
	hash=$(sed 's/.*hash="\([^"]*\)".*/\1/' <<<"$l")
	get "$PORT_r" "$(path_of <<<"$uri")" >"$W/delta$s"
	get "$PORT_e" "$(path_of <<<"$uri")" | cmp -s - "$W/delta$s" ||
	    fail "delta $s differs between replica and leader"
	[ "$(sha256sum <"$W/delta$s" | cut -d' ' -f1)" = "$hash" ] ||
	    fail "delta $s: hash differs from the notification's"
	[ "$(sql "SELECT encode(delta_hash, 'hex') FROM rrdp_serial WHERE
	    serial = $s")" = "$hash" ] || fail "delta $s: hash differs from the stored one"
done
[ "$(grep -c '<publish\|<withdraw' "$W/delta2")" = 4 ] ||
    fail "delta 2 does not hold the 4 changes of its batch"
# Serial 3: obj04 (last version only), new2, obj05 withdrawn.
[ "$(grep -c '<publish\|<withdraw' "$W/delta3")" = 3 ] ||
    fail "delta 3 does not hold the net 3 changes of its two batches"
snap=$(grep -o '<snapshot uri="[^"]*" hash="[0-9a-f]*"' <<<"$n")
get "$PORT_r" "$(sed 's/.*uri="\([^"]*\)".*/\1/' <<<"$snap" | path_of)" \
    >"$W/snap"
[ "$(sha256sum <"$W/snap" | cut -d' ' -f1)" = \
    "$(sed 's/.*hash="\([^"]*\)".*/\1/' <<<"$snap")" ] || fail "snapshot hash"
[ "$(grep -c '<publish' "$W/snap")" = "$(ls "$W/objs" | wc -l)" ] ||
    fail "the snapshot does not hold every published file"
for f in "$W"/objs/*; do
	grep -q -F -- "$(base64 -w0 <"$f")" "$W/snap" ||
	    fail "$(basename "$f"): not in the snapshot with its last content"
done

# A client that hangs up in the middle of a large response.
timeout 1 curl -s --limit-rate 200k -o /dev/null \
    "http://127.0.0.1:$PORT_r/big.bin"
sleep 1.5
kill -0 "${PID[r]}" 2>/dev/null ||
    fail "the replica died when a client hung up: $(tail -3 "$W/r.log")"
[ "$(get "$PORT_r" /rrdp/notification.xml | serial_of)" = 4 ] ||
    fail "the replica stopped serving after a client hung up"

# The survivors shut down cleanly (and, sanitized, without leaks).
for n in r e; do
	kill -TERM "${PID[$n]}"
	wait "${PID[$n]}" || fail "$n exited with status $? on SIGTERM"
done

[ "$FAILED" = 0 ] && echo PASS
exit "$FAILED"
