#!/bin/bash
#
# Soak version of integration.test_ca_crash: the same kill -9 test of the CA
# engine with many more kills than the test suite's 50 (default 1000), in
# rounds of fresh databases, until one fails.  Not part of ctest (it runs for
# hours at large counts); run it before a release or after engine changes:
#
#   tests/soak/ca_crash_soak.sh BUILD_DIR [KILLS_PER_ROUND [ROUNDS]]
#
# Each round starts from a new embedded PostgreSQL cluster; per round the
# ROA prefixes 10.x.y.0/24 allow about 3,000 kills before they repeat.
set -u
build=${1:?usage: $0 BUILD_DIR [KILLS_PER_ROUND [ROUNDS]]}
kills=${2:-1000}
rounds=${3:-1}
bin=$build/tests/integration/test_ca_crash
[ -x "$bin" ] || { echo "soak: $bin is not built" >&2; exit 2; }
case $kills$rounds in *[!0-9]*) echo "soak: counts must be numbers" >&2; exit 2;; esac
for ((r = 1; r <= rounds; r++)); do
	echo "=== round $r of $rounds: $kills kills"
	start=$SECONDS
	if ! CAIRN_CRASH_RUNS=$kills "$bin"; then
		echo "soak: round $r FAILED" >&2
		exit 1
	fi
	echo "=== round $r passed in $((SECONDS - start)) s"
done
echo "soak: $rounds round(s) of $kills kills passed"
