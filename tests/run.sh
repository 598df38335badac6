#!/bin/bash
# Builds Cairn three ways and runs every test:
#   1. build/        RelWithDebInfo: all ctest tests (unit, integration, relying parties)
#   2. build-asan/   AddressSanitizer + UBSan: all ctest tests again
#   3. build-fuzz/   clang + libFuzzer: each fuzz target for FUZZ_SECONDS (default 20),
#                    as many at once as there are cores
# Needs the packages of "deploy/install-deps.sh test".  Exit 0 only if all passed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-20}
failed=0
passed=0

step() { printf '\n=== %s\n' "$*"; }
result() {	# name rc
	if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "--- $1: ok"
	else failed=$((failed + 1)); echo "--- $1: FAILED (rc $2)"; fi
}

build() {	# dir cmake-args...
	local dir=$1; shift
	cmake -S . -B "$dir" "$@" >"$dir.cmake.log" 2>&1 &&
	    cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1
	local rc=$?
	[ $rc = 0 ] || { tail -n 50 "$dir.cmake.log" "$dir.build.log"; }
	return $rc
}

step "build (RelWithDebInfo)"
mkdir -p build
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; rc=$?
result build $rc
if [ $rc = 0 ]; then
	step "ctest (all tests)"
	(cd build && ctest --output-on-failure -j"$jobs" --timeout 900)
	result ctest $?
fi

step "build (AddressSanitizer + UndefinedBehaviorSanitizer)"
mkdir -p build-asan
build build-asan -DCMAKE_BUILD_TYPE=Debug -DCAIRN_SANITIZE=ON; rc=$?
result build-asan $rc
if [ $rc = 0 ]; then
	step "ctest under ASan/UBSan (all tests)"
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j"$jobs" --timeout 900)
	result ctest-asan $?
fi

step "build (libFuzzer targets)"
mkdir -p build-fuzz
CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAIRN_FUZZ=ON; rc=$?
result build-fuzz $rc
# One fuzz target for fuzz_seconds; its exit code goes to build-fuzz/NAME.rc.
fuzz_one() {
	local f=$1 name seeds work
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/$name
	work=build-fuzz/corpus-run/$name
	rm -rf "$work"; mkdir -p "$work"
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
	"$f" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="build-fuzz/$name-" "$work" \
	    >"build-fuzz/$name.log" 2>&1
	echo $? >"build-fuzz/$name.rc"
}

if [ $rc = 0 ]; then
	# As many targets at once as there are cores: each is single-threaded.
	targets=()
	for f in build-fuzz/tests/fuzz_*; do
		[ -x "$f" ] && targets+=("$f")
	done
	step "fuzz ${#targets[@]} targets for ${fuzz_seconds}s each, $jobs at a time"
	running=0
	for f in "${targets[@]}"; do
		rm -f "build-fuzz/$(basename "$f").rc"
		fuzz_one "$f" &
		running=$((running + 1))
		if [ $running -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
	for f in "${targets[@]}"; do
		name=$(basename "$f")
		rc=$(cat "build-fuzz/$name.rc" 2>/dev/null || echo 1)
		[ "$rc" = 0 ] || tail -n 40 "build-fuzz/$name.log"
		result "$name" "$rc"
	done
fi

echo
echo "steps: $passed passed, $failed failed"
[ $failed = 0 ]
