#!/bin/bash
#
# End-to-end test of the publication server: a repository built by
# tests/rp/mkrepo (TA, RIR CA, two member CAs, ROAs) is published through
# cairn-pubd as a local publisher; cairn-pubd serves RRDP over HTTPS (a
# server certificate for IP 127.0.0.1 from a test CA made here) and writes
# the rsync tree that rsyncd serves.  rpki-client and FORT, each with a
# fresh cache, then validate over RRDP only and over rsync only, and must
# report exactly the expected VRPs with no complaint.  rpki-client then
# applies a delta to its warm cache.  The repository is
# then changed (rebuilt without one ROA, so every object is new: the delta is
# as large as the snapshot and is not listed) and validated again over RRDP
# after a restart of cairn-pubd, which must keep the RRDP session.
#
#   rp_pubd.sh path/to/mkrepo path/to/cairn-pubd
. "$(dirname "$0")/rp_lib.sh" "$@"
. "$(dirname "$0")/pubd_lib.sh"
PUBD=${2:?usage: $0 mkrepo cairn-pubd}
PUBD_PID=

EXPECT='AS64496 10.1.0.0/16 24
AS64496 10.1.128.0/17 17
AS64496 2001:db8:1::/48 48
AS64500 10.2.0.0/16 20
AS64501 192.0.2.0/24 24
AS64501 2001:db8:2::/48 64'

# The harness's RRDP hook: cairn-pubd, stopped by rp_cleanup.
rp_https_stop() {
	if [ -n "$PUBD_PID" ]; then
		kill "$PUBD_PID" 2>/dev/null
		wait "$PUBD_PID" 2>/dev/null
		PUBD_PID=
	fi
}

for prog in rsync "$RP_RPKI_CLIENT" "$RP_FORT" jq openssl curl; do
	command -v "$prog" >/dev/null ||
	    { echo "FAIL: $prog is not installed" >&2; exit 1; }
done
rp_init || exit 1
W=$RP_WORK

# The rsync module is cairn-pubd's tree (<dir>/current, a symlink that
# cairn-pubd swaps).
pubd_rsync_root "$W/pubrsync" || exit 1
rp_rsyncd_start "$W/pubrsync/current" || exit 1
pubd_port HP || { echo "FAIL: no free port" >&2; exit 1; }
HTTPS=https://127.0.0.1:$HP/
tls=$W/tls
pubd_tls "$tls" || { echo "FAIL: test CA" >&2; exit 1; }
RP_HTTPS_CA=$tls/ca.pem
RP_HTTPS_BASE=$HTTPS
RP_HTTPS_PORT=$HP

# The repository, built for the rsync base of the module and with
# rpkiNotify pointing at cairn-pubd.
src=$W/src
mkdir -p "$src" "$W/static" "$W/pubd" && chmod 755 "$W/pubd"
rpt_desc '/^aspa/d' >"$W/full.desc"
"$MKREPO" -b "${RP_RSYNC_BASE}full/" -n "${HTTPS}rrdp/notification.xml" \
    -o "$src/full" -t "$W/full.tal" "$W/full.desc" >"$W/full.expected" ||
    { echo "FAIL: mkrepo" >&2; exit 1; }
rpt_mkrepo_vrps full "$EXPECT"
cp "$src/full/ta.cer" "$W/static/ta.cer"
rp_tal_write "$W/full-rrdp.tal" "$src/full/ta.cer" "${HTTPS}ta.cer" || exit 1

cat >"$W/pubd.conf" <<EOF
data-dir = $W/pubd
[rrdp]
base-uri = ${HTTPS}rrdp/
interval = 1s
[http]
listen = 127.0.0.1
port = $HP
tls-cert = $tls/srv.pem
tls-key = $tls/srv.key
static-dir = $W/static
[rsync]
base-uri = $RP_RSYNC_BASE
dir = $W/pubrsync
EOF

"$PUBD" -c "$W/pubd.conf" sync full "$src/full" ||
    { echo "FAIL: cairn-pubd sync" >&2; exit 1; }
"$PUBD" -c "$W/pubd.conf" >"$W/pubd.log" 2>&1 &
PUBD_PID=$!

wait_serial() {
	pubd_wait_serial "$W/pubd.log" "${HTTPS}rrdp/notification.xml" \
	    "$tls/ca.pem" "$1" "$PUBD_PID"
}
wait_serial 1

# The notification: at most a minute of caching; the TA over HTTPS.
hdr=$(curl -s -D - -o /dev/null --cacert "$tls/ca.pem" \
    "${HTTPS}rrdp/notification.xml" | tr -d '\r')
grep -q -i '^cache-control: public, max-age=60$' <<<"$hdr" ||
    rpt_fail "notification Cache-Control: $hdr"
cmp -s <(curl -s --cacert "$tls/ca.pem" "${HTTPS}ta.cer") "$src/full/ta.cer" ||
    rpt_fail "ta.cer over HTTPS differs"

# FORT as an RTR server validates now (serial 1, from the snapshot) and
# again 60 s later (serial 2, which it must take from the delta).
rp_fort_server_start rrdp "$W/full-rrdp.tal" "$W/fortsrv" || exit 1
rp_validate_all "$W/full-rrdp.tal" "$W/out1" rrdp || exit 1
rp_validate_all "$W/full.tal" "$W/out1" rsync || exit 1
for v in rpki-client fort; do
	for t in rrdp rsync; do
		o=$W/out1/$v-$t
		echo "--- $v over $t: rc $(cat "$o/rc"), $(wc -l <"$o/vrps") VRPs"
		sed 's/^/    /' "$o/complaints"
		printf '%s\n' "$EXPECT" | LC_ALL=C sort >"$W/want"
		rp_expect_vrps "$o" "$W/want" || rpt_fail "$v over $t: VRPs"
		rp_expect_clean "$o" || rpt_fail "$v over $t: complaints"
	done
done
# Deltas with a warm cache: a second repository joins (publisher "other",
# unrelated to our TAL), so delta 2 is small enough to be listed, and
# rpki-client, run again on its cache, and the FORT server in its next
# cycle, must fetch delta 2 and not the snapshot, and still see exactly our
# VRPs.  (FORT 1.5.4 keeps no RRDP state between standalone runs: only its
# server mode can show this.)
rp_fort_server_wait "$W/fortsrv" 1 100 || exit 1
mark_fort=$(wc -l <"$W/pubd.log")
"$MKREPO" -b "${RP_RSYNC_BASE}other/" -n "${HTTPS}rrdp/notification.xml" \
    -o "$src/other" -t "$W/other.tal" "$W/full.desc" >/dev/null ||
    { echo "FAIL: mkrepo (other)" >&2; exit 1; }
"$PUBD" -c "$W/pubd.conf" sync other "$src/other" ||
    { echo "FAIL: cairn-pubd sync (other)" >&2; exit 1; }
wait_serial 2
curl -s --cacert "$tls/ca.pem" "${HTTPS}rrdp/notification.xml" |
    grep -q '<delta serial="2"' || rpt_fail "delta 2 is not listed"
o=$W/out1/rpki-client-rrdp
: >"$o/complaints"
: >"$o/vrps"
mark=$(wc -l <"$W/pubd.log")
rp_run_rpki_client rrdp "$W/full-rrdp.tal" "$o" || exit 1
echo "--- rpki-client over rrdp, warm cache: $(wc -l <"$o/vrps") VRPs"
sed 's/^/    /' "$o/complaints"
rp_expect_vrps "$o" "$W/want" || rpt_fail "rpki-client warm cache: VRPs"
rp_expect_clean "$o" || rpt_fail "rpki-client warm cache: complaints"
tail -n +"$mark" "$W/pubd.log" | grep -q '"GET /rrdp/[0-9a-f-]*/2/[0-9a-f]*/delta.xml' ||
    rpt_fail "rpki-client did not fetch delta 2"
tail -n +"$mark" "$W/pubd.log" | grep -q '/snapshot.xml' &&
    rpt_fail "rpki-client fetched a snapshot despite delta 2"
rp_fort_server_wait "$W/fortsrv" 2 100 || exit 1
rp_fort_server_stop "$W/fortsrv"
o=$W/fortsrv
echo "--- FORT server, second cycle: $(wc -l <"$o/vrps") VRPs"
sed 's/^/    /' "$o/complaints"
rp_expect_vrps "$o" "$W/want" || rpt_fail "FORT server: VRPs"
rp_expect_clean "$o" || rpt_fail "FORT server: complaints"
tail -n +"$mark_fort" "$W/pubd.log" | grep ' "fort/' >"$W/fort-gets"
grep -q '"GET /rrdp/[0-9a-f-]*/2/[0-9a-f]*/delta.xml' "$W/fort-gets" ||
    rpt_fail "FORT did not fetch delta 2"
# (The access log line of its first cycle's snapshot may come after the
# mark: only a snapshot of serial 2 would be wrong.)
grep -q '/2/[0-9a-f]*/snapshot.xml' "$W/fort-gets" &&
    rpt_fail "FORT fetched a snapshot despite delta 2"

# Change: withdraw the second ROA of m2 (its manifest is reissued by mkrepo:
# rebuild with one roa line fewer and sync the difference).
sed '/^roa  *m2  *64501/d' "$W/full.desc" >"$W/full2.desc"
rm -rf "$src/full2"
"$MKREPO" -b "${RP_RSYNC_BASE}full/" -n "${HTTPS}rrdp/notification.xml" \
    -o "$src/full2" -t "$W/full2.tal" "$W/full2.desc" >"$W/full2.expected" ||
    { echo "FAIL: mkrepo (change)" >&2; exit 1; }
cp "$src/full2/ta.cer" "$W/static/ta.cer"
rp_tal_write "$W/full2-rrdp.tal" "$src/full2/ta.cer" "${HTTPS}ta.cer" || exit 1
"$PUBD" -c "$W/pubd.conf" sync full "$src/full2" ||
    { echo "FAIL: cairn-pubd sync (change)" >&2; exit 1; }
# The static TA certificate is read at start-up: restart the server (the
# session must be kept).
sess1=$(curl -s --cacert "$tls/ca.pem" "${HTTPS}rrdp/notification.xml" |
    sed -n 's/.*session_id="\([^"]*\)".*/\1/p')
rp_https_stop
"$PUBD" -c "$W/pubd.conf" >>"$W/pubd.log" 2>&1 &
PUBD_PID=$!
wait_serial 3
notif=$(curl -s --cacert "$tls/ca.pem" "${HTTPS}rrdp/notification.xml")
grep -q "session_id=\"$sess1\"" <<<"$notif" ||
    rpt_fail "the session changed across a restart"
grep -q 'serial="3">' <<<"$notif" || rpt_fail "notification is not serial 3"

rp_validate_all "$W/full2-rrdp.tal" "$W/out2" rrdp || exit 1
for v in rpki-client fort; do
	o=$W/out2/$v-rrdp
	echo "--- after the change, $v over rrdp: $(wc -l <"$o/vrps") VRPs"
	sed 's/^/    /' "$o/complaints"
	LC_ALL=C sort "$W/full2.expected" >"$W/want2"
	rp_expect_vrps "$o" "$W/want2" || rpt_fail "$v after the change: VRPs"
	rp_expect_clean "$o" || rpt_fail "$v after the change: complaints"
done
grep -q 'AS64501' "$W/want2" && rpt_fail "mkrepo still expects AS64501"

rpt_done
