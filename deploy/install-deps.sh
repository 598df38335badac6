#!/bin/sh
# Installs what Cairn needs on Debian 12, as root.  The one list of packages.
#   deploy/install-deps.sh          build and run the daemons
#   deploy/install-deps.sh demo     also the relying parties the demo checks
#                                   its repository with (rpki-client, FORT)
#   deploy/install-deps.sh test     also the test tools: cmocka, clang/libFuzzer,
#                                   rpki-client, FORT, wrk, nginx
set -eu

BUILD="build-essential cmake pkg-config libssl-dev libpq-dev libuv1-dev
  libxml2-dev libp11-kit-dev libjansson-dev node-llhttp libinih-dev zlib1g-dev
  postgresql softhsm2 rsync openssl ca-certificates curl"
DEMO="rpki-client fort-validator jq"
TEST="libcmocka-dev clang libclang-rt-14-dev rpki-client fort-validator jq
  wrk nginx-light xxd libxml2-utils procps psmisc iproute2"

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get and useradd need it)" >&2
	exit 1
fi

pkgs=$BUILD
case "${1:-}" in
"") ;;
demo) pkgs="$BUILD $DEMO" ;;
test) pkgs="$BUILD $TEST" ;;
*) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac

export DEBIAN_FRONTEND=noninteractive
# Services that packages would start (postgresql, nginx, fort, rpki-client)
# are not wanted: Cairn and its tests start their own instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null

# The daemons (and the embedded PostgreSQL, which refuses to run as root) run
# as this unprivileged system user.
if ! getent passwd cairn >/dev/null; then
	useradd --system --home-dir /var/lib/cairn --shell /usr/sbin/nologin cairn
fi
# SoftHSM2 tokens of the demo and the tests are created by that user too.
if getent group softhsm >/dev/null; then
	usermod -a -G softhsm cairn
fi
echo "install-deps: done"
