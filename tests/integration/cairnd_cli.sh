#!/bin/bash
#
# cairnd's command line and configuration: every mistake gets a clear
# message on stderr and the right exit code (2: usage or configuration,
# 1: refused), and a refused description line leaves the lines before it
# applied and nothing after it.
#
#   cairnd_cli.sh path/to/cairnd
set -u
CAIRND=${1:?usage: $0 cairnd}
W=$(mktemp -d /tmp/cairn-cli.XXXXXX)
chmod 755 "$W"
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
trap 'rm -rf "$W"' EXIT

# expect CODE PATTERN cmd...: exit code CODE and PATTERN (ERE) on stderr.
expect() {
	local code=$1 pat=$2 rc
	shift 2
	"$@" >"$W/out" 2>"$W/err"
	rc=$?
	if [ "$rc" != "$code" ]; then
		fail "$*: exit $rc, expected $code; stderr: $(head -c 400 "$W/err")"
	elif ! grep -q -E -- "$pat" "$W/err"; then
		fail "$*: stderr lacks /$pat/: $(head -c 400 "$W/err")"
	else
		echo "ok: $* -> $rc"
	fi
}

export SOFTHSM2_CONF=$W/softhsm2.conf
mkdir -p "$W/tokens" "$W/data" "$W/keys"
chmod 755 "$W/data"
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$W/tokens" \
    >"$SOFTHSM2_CONF"
good="data-dir = $W/data
[hsm]
backend = file
key-dir = $W/keys
[repository]
rsync-base = rsync://127.0.0.1:1/repo/"
printf '%s\n' "$good" >"$W/good.conf"

expect 2 'usage: cairnd' "$CAIRND"
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf"
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" frobnicate
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" tal
expect 2 'cannot open' "$CAIRND" -c "$W/missing.conf" tal ta
printf '%s\n[hsm]\nbackend = file\n' "$good" >"$W/dup.conf"
expect 2 'dup.conf: line 8: unknown section|given twice|line [0-9]+' \
    "$CAIRND" -c "$W/dup.conf" tal ta
printf '%s\n[engine]\ntick = soon\n' "$good" >"$W/bad.conf"
expect 2 'bad.conf: line 8: engine.tick: "soon" is not a duration' \
    "$CAIRND" -c "$W/bad.conf" tal ta
printf '%s\n[repository]\nfoo = 1\n' "$good" >"$W/unknown.conf"
expect 2 'unknown.conf: line 8: unknown key "foo" in \[repository\]|line 8' \
    "$CAIRND" -c "$W/unknown.conf" tal ta
printf 'data-dir = %s\n[hsm]\nbackend = file\nkey-dir = %s\n' "$W/data" \
    "$W/keys" >"$W/norepo.conf"
expect 2 'missing required key repository.rsync-base' \
    "$CAIRND" -c "$W/norepo.conf" tal ta
printf '%s\n[schedule]\nmanifest-validity = 30d\nmanifest-reissue-after = 40d\n' \
    "$good" >"$W/sched.conf"
expect 2 'sched.conf: schedule: manifest re-issue .* leaves less than a quarter' \
    "$CAIRND" -c "$W/sched.conf" tal ta
printf '%s\n[schedule]\nmanifest-validity = 10m\n' "$good" >"$W/sched2.conf"
expect 2 'sched2.conf: line 8: schedule.manifest-validity' \
    "$CAIRND" -c "$W/sched2.conf" tal ta
printf '%s\n[engine]\nroa-mode = sometimes\n' "$good" >"$W/mode.conf"
expect 2 'mode.conf: engine.roa-mode must be per-asn or per-prefix' \
    "$CAIRND" -c "$W/mode.conf" tal ta
printf 'data-dir = %s\n[hsm]\nbackend = pkcs11\nmodule = /nonexistent.so\ntoken = x\npin-env = NOPIN\n[repository]\nrsync-base = rsync://h/r/\n' \
    "$W/data" >"$W/p11.conf"
expect 1 'nonexistent.so' "$CAIRND" -c "$W/p11.conf" tal ta
printf '%s\n' "$good" | sed 's/backend = file/backend = paper/' >"$W/hsm.conf"
expect 2 'hsm.backend must be pkcs11 or file' "$CAIRND" -c "$W/hsm.conf" tal ta

# A description with a bad line: the lines before it stay applied.
cat >"$W/desc" <<'DESC'
ta   ta   as=1-4294967295 v4=0.0.0.0/0
ca   rir  ta   as=64496-64511 v4=10.0.0.0/8
roa  rir  64496  10.1.0.0/16
roa  rir  64496  11.0.0.0/8
roa  rir  64497  10.2.0.0/16
DESC
expect 1 'desc:4: .*AS64496 11.0.0.0/8: the prefix is not within the CA.s resources' \
    "$CAIRND" -c "$W/good.conf" apply "$W/desc"
expect 0 '' "$CAIRND" -c "$W/good.conf" tal ta
grep -q '^rsync://127.0.0.1:1/repo/ta-ta/ta.cer$' "$W/out" || fail "TAL lacks the TA URI"
expect 1 'no such trust anchor' "$CAIRND" -c "$W/good.conf" tal rir
printf 'roa rir 64496 10.1.0.0/16\nroa rir 64497 10.2.0.0/16\n' >"$W/desc2"
"$CAIRND" -c "$W/good.conf" apply "$W/desc2" >"$W/out" 2>"$W/err" ||
    fail "apply desc2: $(cat "$W/err")"
grep -q '^1 changes applied$' "$W/out" ||
    fail "desc2 should add only the line after the refused one: $(cat "$W/out")"
printf 'bogus rir\n' >"$W/desc3"
expect 1 'desc3:1: unknown statement "bogus"' "$CAIRND" -c "$W/good.conf" apply "$W/desc3"
expect 2 'not a list of AS numbers' "$CAIRND" -c "$W/good.conf" router-add rir AS6x "$W/desc3"
expect 1 'not a PKCS#10|router certificate request' \
    "$CAIRND" -c "$W/good.conf" router-add rir 64496 "$W/desc3"
expect 2 'expected as=, v4= or v6=' "$CAIRND" -c "$W/good.conf" transfer rir ta x=1
expect 1 'one line of descent' "$CAIRND" -c "$W/good.conf" transfer rir ta v4=10.1.0.0/16
expect 1 'trust anchor.s key roll' "$CAIRND" -c "$W/good.conf" keyroll ta start
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" keyroll rir sideways
# Trust anchor key roll (RFC 9691): usage, the wrong kind of CA, no roll yet.
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" ta-keyroll ta sideways
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" ta-keyroll ta finish --now
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" ta-keyroll ta
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" tal ta --later
expect 1 'not a trust anchor' "$CAIRND" -c "$W/good.conf" ta-keyroll rir start
expect 1 'no trust anchor key roll under way' "$CAIRND" -c "$W/good.conf" \
    ta-keyroll ta finish --force
expect 1 'there is no next TAL' "$CAIRND" -c "$W/good.conf" tal ta --next
# import: usage, a bad batch size, a bad line named before anything is made.
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" import
expect 2 'BATCH is a number of CAs per transaction' \
    "$CAIRND" -c "$W/good.conf" import "$W/desc3" 0
printf 'handle,parent,asns,ipv4,ipv6\nm1,rir,64496,10.1.0.0/16,\nm2,rir,64497,10.2.0.0/33,\n' \
    >"$W/import.csv"
expect 1 'import.csv:3: ipv4' "$CAIRND" -c "$W/good.conf" import "$W/import.csv"
# The offline trust anchor's commands (docs/offline-ta.md).
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" child add ta
expect 2 'usage: cairnd -c CONF child add' "$CAIRND" -c "$W/good.conf" child frob ta x
expect 2 'expected as=, v4= or v6=' "$CAIRND" -c "$W/good.conf" child add ta \
    "$W/desc3" "$W/o.xml" asn=1
expect 1 'missing.xml' "$CAIRND" -c "$W/good.conf" child add ta "$W/missing.xml" \
    "$W/o.xml" as=64500
expect 1 'desc3' "$CAIRND" -c "$W/good.conf" child add ta "$W/desc3" \
    "$W/o.xml" as=64500
expect 1 'nobody' "$CAIRND" -c "$W/good.conf" child resources ta nobody as=64500
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" offline answer ta
expect 2 'usage: cairnd -c CONF offline answer' "$CAIRND" -c "$W/good.conf" \
    offline sign ta x
expect 1 'desc3: not JSON' "$CAIRND" -c "$W/good.conf" offline answer ta \
    "$W/desc3" "$W/o.json"
expect 1 'nosuch' "$CAIRND" -c "$W/good.conf" offline refresh nosuch "$W/o.json"
expect 0 '' "$CAIRND" -c "$W/good.conf" parent request m9 "$W/m9.xml"
expect 1 'no CA with a remote parent' "$CAIRND" -c "$W/good.conf" \
    parent offline-request m9 "$W/r.json"
expect 1 'desc3: not JSON' "$CAIRND" -c "$W/good.conf" \
    parent offline-import m9 "$W/desc3"
expect 2 'usage: cairnd -c CONF parent offline-import' "$CAIRND" \
    -c "$W/good.conf" parent offline-import m9
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" parent import m9 \
    "$W/m9.xml" --online
# child remove keeps a tombstone: the same identity may come back, another
# one under the handle only with --force.
expect 0 '' "$CAIRND" -c "$W/good.conf" parent request m8 "$W/m8.xml"
sed 's/child_handle="m8"/child_handle="m9"/' "$W/m8.xml" >"$W/m8as9.xml"
grep -q 'child_handle="m9"' "$W/m8as9.xml" || fail "m8as9.xml: no m9 handle"
expect 0 '' "$CAIRND" -c "$W/good.conf" child add ta "$W/m9.xml" \
    "$W/m9-resp.xml" as=64500
grep -q 'parent_response' "$W/m9-resp.xml" || fail "child add wrote no parent_response"
expect 1 'already has a child' "$CAIRND" -c "$W/good.conf" child add ta \
    "$W/m9.xml" "$W/x.xml" as=64500
expect 0 '' "$CAIRND" -c "$W/good.conf" child remove ta m9
grep -q 'removed, its certificates revoked; its BPKI identity is kept' "$W/out" ||
    fail "child remove: $(cat "$W/out")"
expect 1 'no such child' "$CAIRND" -c "$W/good.conf" child remove ta m9
expect 1 'removed a child with this handle on [0-9-]+ [0-9:]+Z .*force' \
    "$CAIRND" -c "$W/good.conf" child add ta "$W/m8as9.xml" "$W/x.xml" as=64500
[ -f "$W/x.xml" ] && fail "a refused child add wrote its parent_response"
expect 0 '' "$CAIRND" -c "$W/good.conf" child add ta "$W/m9.xml" \
    "$W/m9-resp.xml" as=64500
expect 0 '' "$CAIRND" -c "$W/good.conf" child remove ta m9
expect 2 'usage: cairnd' "$CAIRND" -c "$W/good.conf" child add ta \
    "$W/m8as9.xml" "$W/x.xml" --force
expect 0 '' "$CAIRND" -c "$W/good.conf" child add ta "$W/m8as9.xml" \
    "$W/x.xml" as=64500 --force
grep -q 'child m9 added' "$W/out" || fail "forced child add: $(cat "$W/out")"
[ -f "$W/o.json" ] && fail "a refused command wrote its output file"

[ "$failed" = 0 ] && echo PASS
exit "$failed"
