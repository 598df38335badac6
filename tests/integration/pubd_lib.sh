# shellcheck shell=bash
#
# Helpers of the cairn-pubd relying-party tests (rp_pubd.sh,
# rp_engine_pubd.sh), sourced after tests/rp/rp.sh.

# pubd_tls DIR: a test CA (DIR/ca.pem) and a server certificate for IP
# 127.0.0.1 (DIR/srv.pem, DIR/srv.key) that it issued.
pubd_tls() {
	local d=$1
	mkdir -p "$d" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" \
	    -out "$d/ca.pem" -subj /CN=cairn-test-ca -days 2 \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$d/srv.key" \
	    -out "$d/srv.csr" -subj /CN=127.0.0.1 2>/dev/null &&
	printf '%s\n' 'subjectAltName=IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
	    'keyUsage=critical,digitalSignature,keyEncipherment' \
	    'extendedKeyUsage=serverAuth' >"$d/srv.ext" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -out "$d/srv.pem" -days 2 -extfile "$d/srv.ext" \
	    2>/dev/null
}

# pubd_port VAR: a free loopback port below the ephemeral range (set in the
# current shell: a subshell would repeat the parent's $RANDOM sequence).
pubd_port() {
	local p
	for _ in $(seq 20); do
		p=$((20000 + RANDOM % 12000))
		rp_port_free "$p" && { printf -v "$1" %s "$p"; return 0; }
	done
	return 1
}

# pubd_rsync_root DIR: an empty tree for rsyncd to serve at DIR/current
# until cairn-pubd swaps in its first tree (the symlink must name a tree).
pubd_rsync_root() {
	mkdir -p "$1/trees/1" && ln -s trees/1 "$1/current" && chmod -R a+rX "$1"
}

# pubd_wait_serial LOG NOTIFY-URI CA SERIAL PID: until the notification
# says SERIAL and the log shows its rsync tree; exits the test otherwise.
pubd_wait_serial() {
	local log=$1 uri=$2 ca=$3 want=$4 pid=$5 n
	for _ in $(seq 300); do
		n=$(curl -s --cacert "$ca" "$uri" |
		    sed -n 's/.* serial="\([0-9]*\)">$/\1/p')
		if [ "$n" = "$want" ] &&
		    grep -q "rsync: tree .* (RRDP serial $want)" "$log"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: cairn-pubd did not publish serial $want" >&2
	grep -v '\] "GET ' "$log" >&2
	exit 1
}
