# shellcheck shell=bash disable=SC2034
#
# Relying-party harness: serves a repository directory on loopback and runs
# Debian 12's rpki-client (8.2) and fort-validator (1.5.4) against it, offline,
# with private caches and only our TAL.  Source this file from bash:
#
#   . tests/rp/rp.sh
#   rp_init                          # private work dir $RP_WORK, cleanup trap
#   rp_rsyncd_start                  # rsyncd on 127.0.0.1:$RP_RSYNC_PORT
#   build the repository into "$RP_REPO" for base URI "$RP_RSYNC_BASE"
#   rp_tal_write "$RP_WORK/test.tal" ta.cer "${RP_RSYNC_BASE}ta.cer"
#   rp_validate rpki-client rsync "$RP_WORK/test.tal" "$RP_WORK/rc-rsync"
#   rp_validate fort rsync "$RP_WORK/test.tal" "$RP_WORK/fort-rsync"
#
# Each rp_validate run leaves in its output directory:
#   vrps        "AS<asn> <prefix> <maxlen>" lines, sorted (LC_ALL=C)
#   aspas       "AS<customer> <provider>[,<provider>...]" lines, sorted;
#               empty for FORT 1.5.4, which has no ASPA support
#   routers     "AS<asn> <SKI in lower-case hex>" lines of the BGPsec router
#               keys (RFC 8209), sorted
#   complaints  every warning, error and non-zero failure counter, one per
#               line, prefixed with the validator's name; empty on a clean run
#   rc, stdout, stderr, and the validator's own output files
# and returns 0 when the validator ran (whatever it found), 1 when the
# harness itself could not run it.  Neither validator's exit code means "all
# valid", which is why the complaints file exists.
#
# Transports: "rsync" alone, or "rrdp" alone (no silent fallback either way).
# RRDP needs a publication server on https://127.0.0.1:<port>/ whose
# certificate is issued by the CA in $RP_HTTPS_CA (PEM); the harness does not
# run one itself (rp_https_start is the hook for it).

RP_TIMEOUT=${RP_TIMEOUT:-120}		# per validator run, seconds
RP_RPKI_CLIENT=${RP_RPKI_CLIENT:-rpki-client}
RP_FORT=${RP_FORT:-fort}
RP_RPKI_CLIENT_USER=_rpki-client	# rpki-client drops to it when root
RP_RSYNCD_PID=
RP_WORK=

rp_die() { echo "rp: $*" >&2; return 1; }

# Creates the private work directory $RP_WORK (under $1 or $TMPDIR) and the
# served repository directory $RP_REPO, and installs an EXIT trap that stops
# the daemons and removes the work directory (unless RP_KEEP=1).
rp_init() {
	local parent=${1:-${TMPDIR:-/tmp}}
	RP_WORK=$(mktemp -d "$parent/cairn-rp.XXXXXX") || return 1
	# rpki-client runs as _rpki-client when started as root: it must be
	# able to reach every directory below the work directory.
	chmod 755 "$RP_WORK"
	RP_REPO=$RP_WORK/repo
	mkdir -p "$RP_REPO" && chmod 755 "$RP_REPO"
	trap rp_cleanup EXIT
	# ctest kills a test that runs over its timeout with SIGTERM: the
	# daemons must not outlive it.
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

rp_cleanup() {
	rp_fort_server_stop
	rp_rsyncd_stop
	rp_https_stop
	if [ -n "$RP_WORK" ] && [ -d "$RP_WORK" ]; then
		if [ "${RP_KEEP:-0}" = 1 ]; then
			echo "rp: kept $RP_WORK" >&2
		else
			rm -rf "$RP_WORK"
		fi
	fi
}

# Prints a loopback TCP port that nothing listens on now.  Below the
# kernel's ephemeral range (32768 and up), so that an outgoing connection
# cannot take the port between this check and the daemon's bind().
rp_free_port() {
	local port
	for _ in $(seq 20); do
		port=$((20000 + RANDOM % 12000))
		if rp_port_free "$port"; then
			echo "$port"
			return 0
		fi
	done
	rp_die "no free port"
}

# rp_api_wait PID: 0 once `$CAIRN status` answers (at $CAIRN_URL, with
# $CAIRN_TOKEN), 1 when the daemon PID exited first or after a minute.
rp_api_wait() {
	for _ in $(seq 300); do
		"$CAIRN" status >/dev/null 2>&1 && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# 0 when nothing listens on TCP port $1 of 127.0.0.1.
rp_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts Debian's rsync daemon serving $RP_REPO (or $1) as module "repo" on a
# free loopback port (or on port $2, when the caller needed to know it
# before the repository was signed; see rp_free_port).  Sets RP_RSYNC_PORT and RP_RSYNC_BASE
# (rsync://127.0.0.1:<port>/repo/).  The daemon is stopped by rp_cleanup.
rp_rsyncd_start() {
	local dir=${1:-$RP_REPO} fixed=${2:-} conf=$RP_WORK/rsyncd.conf port
	[ -d "$dir" ] || { rp_die "rsyncd: no directory $dir"; return 1; }
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=${fixed:-$((20000 + (RANDOM * 32768 + RANDOM) % 40000))}
		if ! rp_port_free "$port"; then
			[ -z "$fixed" ] || { rp_die "rsyncd: port $port is busy"; return 1; }
			continue
		fi
		{
			echo "pid file = $RP_WORK/rsyncd.pid"
			echo "log file = $RP_WORK/rsyncd.log"
			echo "address = 127.0.0.1"
			echo "port = $port"
			echo "use chroot = no"
			if [ "$(id -u)" = 0 ]; then
				echo "uid = nobody"
				echo "gid = nogroup"
			fi
			echo "[repo]"
			echo "path = $dir"
			echo "read only = yes"
			echo "list = yes"
		} >"$conf"
		rm -f "$RP_WORK/rsyncd.pid"
		rsync --daemon --no-detach --config="$conf" \
		    >>"$RP_WORK/rsyncd.out" 2>&1 &
		RP_RSYNCD_PID=$!
		if rp_wait_port "$port" "$RP_RSYNCD_PID"; then
			RP_RSYNC_PORT=$port
			RP_RSYNC_BASE=rsync://127.0.0.1:$port/repo/
			return 0
		fi
		rp_rsyncd_stop
	done
	rp_die "rsyncd did not start; see $RP_WORK/rsyncd.log"
}

# Waits up to 5 s for port $1 to accept connections while process $2 lives.
rp_wait_port() {
	for _ in $(seq 50); do
		kill -0 "$2" 2>/dev/null || return 1
		rp_port_free "$1" || return 0
		sleep 0.1
	done
	return 1
}

rp_rsyncd_stop() {
	if [ -n "$RP_RSYNCD_PID" ]; then
		kill "$RP_RSYNCD_PID" 2>/dev/null
		wait "$RP_RSYNCD_PID" 2>/dev/null
		RP_RSYNCD_PID=
	fi
}

# Hook for RRDP.  Cairn's publication server (cairn-pubd) will serve the
# notification and snapshot files over HTTPS; until it exists the harness
# refuses rather than pretending.  When it does, start it here on a free
# loopback port with a certificate for IP 127.0.0.1 issued by a test CA, and
# set RP_HTTPS_PORT, RP_HTTPS_BASE (https://127.0.0.1:<port>/) and
# RP_HTTPS_CA (the CA's PEM file); rp_validate ... rrdp then works as is.
rp_https_start() {
	rp_die "RRDP: no publication server to start yet (set RP_HTTPS_CA" \
	    "and serve https://127.0.0.1:<port>/ from outside the harness)"
}

rp_https_stop() { :; }

# Writes an RFC 8630 TAL to $1: the URIs $3... and the SubjectPublicKeyInfo
# of $2, which is a certificate or a public or private key, PEM or DER.
rp_tal_write() {
	local out=$1 keysrc=$2 spki
	shift 2
	spki=$(rp_spki_b64 "$keysrc") || return 1
	{
		printf '%s\n' "$@"
		echo
		printf '%s\n' "$spki" | fold -w 64
	} >"$out" && chmod 644 "$out"
}

rp_spki_b64() {
	local f=$1 form der
	# Try a certificate, a private key and a public key, PEM then DER.
	for form in PEM DER; do
		der=$(openssl x509 -inform "$form" -in "$f" -noout -pubkey \
		    2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null |
		    base64 -w0)
		[ -n "$der" ] || der=$(openssl pkey -inform "$form" -in "$f" \
		    -pubout -outform DER 2>/dev/null | base64 -w0)
		[ -n "$der" ] || der=$(openssl pkey -pubin -inform "$form" \
		    -in "$f" -outform DER 2>/dev/null | base64 -w0)
		if [ -n "$der" ]; then
			printf '%s\n' "$der"
			return 0
		fi
	done
	rp_die "no public key in $f"
}

# rp_validate rpki-client|fort rsync|rrdp TAL OUTDIR
rp_validate() {
	local rp=$1 transport=$2 tal=$3 out=$4
	case $transport in
	rsync) ;;
	rrdp)	[ -n "${RP_HTTPS_CA:-}" ] ||
		    { rp_die "rrdp: RP_HTTPS_CA is not set"; return 1; } ;;
	*)	rp_die "unknown transport $transport"; return 1 ;;
	esac
	[ -r "$tal" ] || { rp_die "no TAL $tal"; return 1; }
	rm -rf "$out"
	mkdir -p "$out" && chmod 755 "$out" || return 1
	: >"$out/complaints"
	: >"$out/vrps"
	: >"$out/aspas"
	: >"$out/routers"
	case $rp in
	rpki-client) rp_run_rpki_client "$transport" "$tal" "$out" ;;
	fort) rp_run_fort "$transport" "$tal" "$out" ;;
	*) rp_die "unknown relying party $rp"; return 1 ;;
	esac
}

rp_complain() {	# out who text...
	local out=$1 who=$2
	shift 2
	printf '%s: %s\n' "$who" "$*" >>"$out/complaints"
}

rp_run_rpki_client() {
	local transport=$1 tal=$2 out=$3 args rc tal_copy
	# A fresh cache for every run, owned by the user rpki-client drops to.
	mkdir -p "$out/cache" "$out/output" "$out/tals"
	if [ "$(id -u)" = 0 ]; then
		chown "$RP_RPKI_CLIENT_USER:$RP_RPKI_CLIENT_USER" \
		    "$out/cache" "$out/output" ||
		    { rp_die "no user $RP_RPKI_CLIENT_USER"; return 1; }
	fi
	# The TAL's file name is the trust anchor's name in the output.
	tal_copy=$out/tals/$(basename "$tal")
	cp "$tal" "$tal_copy" && chmod 644 "$tal_copy"
	args=(-j -c -s 60 -t "$tal_copy" -d "$out/cache")
	if [ "$transport" = rsync ]; then
		args+=(-R)		# rsync only, never RRDP
	else
		args+=(-e /bin/false)	# 8.2 has no RRDP-only flag
	fi
	(
		cd "$out" || exit 1
		if [ "$transport" = rrdp ]; then
			export SSL_CERT_FILE=$RP_HTTPS_CA
			unset SSL_CERT_DIR
		fi
		exec timeout "$RP_TIMEOUT" "$RP_RPKI_CLIENT" "${args[@]}" \
		    "$out/output" >"$out/stdout" 2>"$out/stderr"
	)
	rc=$?
	echo "$rc" >"$out/rc"
	[ "$rc" = 0 ] || rp_complain "$out" rpki-client "exit code $rc"
	while IFS= read -r line; do
		rp_complain "$out" rpki-client "$line"
	done <"$out/stderr"
	if ! jq -e . "$out/output/json" >/dev/null 2>&1; then
		rp_complain "$out" rpki-client "no JSON output"
		return 0
	fi
	# Every failed*, invalid* and stale* counter must be 0.
	jq -r '.metadata | to_entries[] |
	    select((.key | test("^(failed|invalid|stale)")) and .value != 0) |
	    "counter \(.key)=\(.value)"' "$out/output/json" |
	    while IFS= read -r line; do
		rp_complain "$out" rpki-client "$line"
	    done
	jq -r '.roas[] | "AS\(.asn | tostring | ltrimstr("AS")) \(.prefix) \(.maxLength)"' \
	    "$out/output/json" | LC_ALL=C sort -u >"$out/vrps"
	# 8.0-8.4 (draft-10 profile): provider_authorizations.{ipv4,ipv6}[];
	# 8.5 and later (profile v1): aspas[].
	jq -r '((.provider_authorizations // {}) | to_entries[] | .value[]),
	    (.aspas // [])[] |
	    "AS\(.customer_asid) \(.providers | map(tostring) | join(","))"' \
	    "$out/output/json" | LC_ALL=C sort -u >"$out/aspas"
	jq -r '(.bgpsec_keys // [])[] |
	    "AS\(.asn | tostring | ltrimstr("AS")) \(.ski | gsub(":"; "") |
	    ascii_downcase)"' "$out/output/json" | LC_ALL=C sort -u >"$out/routers"
	return 0
}

# FORT's arguments for transport $1, TAL $2 and output directory $3, in the
# array RP_FORT_ARGS (without --mode).
rp_fort_args() {
	local transport=$1 tal=$2 out=$3
	mkdir -p "$out/cache"
	RP_FORT_ARGS=(--tal="$tal" --local-repository="$out/cache"
	    --http.retry.count=0 --rsync.retry.count=0
	    --log.output=console --log.level=warning
	    --validation-log.enabled=true --validation-log.output=console
	    --validation-log.level=warning
	    --output.roa="$out/roas.csv" --output.bgpsec="$out/bgpsec.csv"
	    --output.format=csv)
	if [ "$transport" = rsync ]; then
		RP_FORT_ARGS+=(--http.enabled=false)
	else
		# FORT ignores SSL_CERT_FILE: it wants a hashed directory.
		mkdir -p "$out/ca"
		cp "$RP_HTTPS_CA" "$out/ca/ca.pem"
		openssl rehash "$out/ca" || return 1
		RP_FORT_ARGS+=(--rsync.enabled=false --http.ca-path="$out/ca")
	fi
}

rp_run_fort() {
	local transport=$1 tal=$2 out=$3 rc
	rp_fort_args "$transport" "$tal" "$out" || return 1
	timeout "$RP_TIMEOUT" "$RP_FORT" --mode=standalone "${RP_FORT_ARGS[@]}" \
	    >"$out/stdout" 2>"$out/stderr"
	rc=$?
	echo "$rc" >"$out/rc"
	[ "$rc" = 0 ] || rp_complain "$out" fort "exit code $rc"
	rp_fort_collect "$out"
}

# Reads FORT's logs and ROA output in $1 into complaints and vrps.
rp_fort_collect() {
	local out=$1
	# INF lines go to stdout, WRN/ERR/CRT to stderr; two WRN lines are
	# FORT's normal start and end banner (worded otherwise in server mode).
	grep -E ' (WRN|ERR|CRT)' "$out/stdout" "$out/stderr" -h |
	    grep -v -E 'WRN: (The validation has|First validation cycle has) begun|WRN: (The validation has|First validation cycle) successfully ended' |
	    while IFS= read -r line; do
		rp_complain "$out" fort "$line"
	    done
	# Anything else on stderr that is not a log line is a complaint too.
	grep -v -E ' (INF|WRN|ERR|CRT|DBG)' "$out/stderr" |
	    while IFS= read -r line; do
		[ -n "$line" ] && rp_complain "$out" fort "$line"
	    done
	if [ -s "$out/roas.csv" ]; then
		tail -n +2 "$out/roas.csv" | tr -d '\r' |
		    awk -F, 'NF == 3 { print $1 " " $2 " " $3 }' |
		    LC_ALL=C sort -u >"$out/vrps"
	fi
	# ASN,Subject Key Identifier (base64url),Router Public Key
	if [ -s "$out/bgpsec.csv" ]; then
		tail -n +2 "$out/bgpsec.csv" | tr -d '\r' |
		    while IFS=, read -r asn ski _; do
			ski=$(printf '%s' "$ski" | tr -- '-_' '+/')
			while [ $((${#ski} % 4)) != 0 ]; do ski=$ski=; done
			printf '%s %s\n' "$asn" "$(printf '%s' "$ski" |
			    base64 -d | od -An -tx1 | tr -d ' \n')"
		    done | LC_ALL=C sort -u >"$out/routers"
	fi
	return 0
}

# FORT as an RTR server (its only mode that keeps RRDP state between
# validation cycles, so the only way to see it use deltas): validates every
# 60 s (its minimum) into $3 until rp_fort_server_stop.  Sets RP_FORT_PID.
# Its log level is info, for the "Validation finished:" line of each cycle
# (INF lines are never complaints).
#   rp_fort_server_start TRANSPORT TAL OUT
rp_fort_server_start() {
	local transport=$1 tal=$2 out=$3 port
	rm -rf "$out"
	mkdir -p "$out" && chmod 755 "$out" || return 1
	: >"$out/complaints"
	: >"$out/vrps"
	rp_fort_args "$transport" "$tal" "$out" || return 1
	port=$(rp_free_port) || return 1
	"$RP_FORT" --mode=server --server.address="127.0.0.1#$port" \
	    --server.interval.validation=60 "${RP_FORT_ARGS[@]}" --log.level=info \
	    >"$out/stdout" 2>"$out/stderr" &
	RP_FORT_PID=$!
}

# Waits (at most $3 seconds) until the FORT server of directory $1 has
# finished $2 validation cycles; returns 1 on timeout or when it died.
rp_fort_server_wait() {
	local out=$1 n=$2 i
	for ((i = 0; i < $3; i++)); do
		[ "$(cat "$out/stdout" "$out/stderr" 2>/dev/null |
		    grep -c 'INF: Validation finished:')" -ge "$n" ] &&
		    return 0
		kill -0 "$RP_FORT_PID" 2>/dev/null ||
		    { rp_die "FORT server exited"; return 1; }
		sleep 1
	done
	rp_die "FORT server: no validation cycle $n in $3 s"
}

# Stops the FORT server and collects its complaints and VRPs (those of its
# last cycle) in its output directory $1.
rp_fort_server_stop() {
	[ -n "${RP_FORT_PID:-}" ] || return 0
	kill "$RP_FORT_PID" 2>/dev/null
	wait "$RP_FORT_PID" 2>/dev/null
	RP_FORT_PID=
	[ -n "${1:-}" ] && rp_fort_collect "$1"
	return 0
}

# Runs each validator on each transport given, each with a fresh cache:
#   rp_validate_all TAL OUTBASE rsync [rrdp]
# Results in OUTBASE/<rp>-<transport>/.
rp_validate_all() {
	local tal=$1 base=$2 rp t
	shift 2
	for t in "$@"; do
		for rp in rpki-client fort; do
			rp_validate "$rp" "$t" "$tal" "$base/$rp-$t" || return 1
		done
	done
}

# Compares the VRPs of run directory $1 with the sorted expectation file $2;
# prints a diff and returns 1 when they differ.
rp_expect_vrps() {
	if ! diff -u "$2" "$1/vrps" >"$1/vrps.diff"; then
		echo "rp: VRPs of $1 differ from $2:" >&2
		cat "$1/vrps.diff" >&2
		return 1
	fi
}

# Returns 0 when run $1 had no complaints; prints them otherwise.
rp_expect_clean() {
	if [ -s "$1/complaints" ]; then
		echo "rp: complaints in $1:" >&2
		cat "$1/complaints" >&2
		return 1
	fi
}

# Returns 0 when run $1 has a complaint matching the extended regex $2.
rp_expect_complaint() {
	if ! grep -q -E -- "$2" "$1/complaints"; then
		echo "rp: no complaint matching /$2/ in $1; complaints were:" >&2
		cat "$1/complaints" >&2
		return 1
	fi
}

# Sets up what cairnd needs in directory $1 for a test: a SoftHSM2 token of
# its own (label cairn-test; SOFTHSM2_CONF is exported), the PIN file, a
# data directory the user cairn can reach (the embedded PostgreSQL), and
# $1/cairnd.conf with rsync-base $2 and any further lines ($3) of its
# [repository] section.
rp_cairnd_setup() {
	local d=$1 base=$2 extra=${3:-}
	export SOFTHSM2_CONF=$d/softhsm2.conf
	mkdir -p "$d/tokens" "$d/data" && chmod 755 "$d/data" || return 1
	printf 'directories.tokendir = %s\nobjectstore.backend = file\n' \
	    "$d/tokens" >"$SOFTHSM2_CONF"
	softhsm2-util --init-token --free --label cairn-test --pin 4321 \
	    --so-pin 87654321 >/dev/null ||
	    { rp_die "softhsm2-util --init-token failed"; return 1; }
	printf '4321\n' >"$d/pin" && chmod 600 "$d/pin"
	{
		printf 'data-dir = %s\n[hsm]\nbackend = pkcs11\n' "$d/data"
		printf 'module = /usr/lib/softhsm/libsofthsm2.so\n'
		printf 'token = cairn-test\npin-file = %s\nee-threads = 2\n' "$d/pin"
		printf '[repository]\nrsync-base = %s\n' "$base"
		[ -z "$extra" ] || printf '%s\n' "$extra"
	} >"$d/cairnd.conf"
}
