#!/bin/sh
# run-fuzzers.sh BUILD_DIR SECONDS [JOBS] - run every libFuzzer harness
# built in BUILD_DIR for SECONDS each, starting from its seed corpus in
# tests/fuzz/corpus/NAME/ when there is one; JOBS harnesses at a time
# (default 1: each libFuzzer run is one process on one core, so on N
# cores N of them at once get the same SECONDS of fuzzing each, in 1/N
# of the wall time). Fails when any harness crashes; each one's result
# is printed whole when it ends, so parallel runs do not interleave.
# (run-fuzzers.sh --one SECONDS HARNESS runs a single harness: the worker
# that xargs starts.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = --one ]; then
	secs=$2
	f=$3
	name=$(basename "$f")
	work=$(mktemp -d)
	seeds="$top/tests/fuzz/corpus/$name"
	[ -d "$seeds" ] && cp "$seeds"/* "$work"/ 2>/dev/null || true
	if "$f" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 "$work" >"$work.log" 2>&1; then
		printf 'fuzz: %s for %ss\n%s\n' "$name" "$secs" "$(tail -1 "$work.log")"
		rm -rf "$work" "$work.log"
		exit 0
	fi
	printf 'fuzz: %s for %ss\n%s\nfuzz: %s FAILED\n' \
		"$name" "$secs" "$(tail -40 "$work.log")" "$name"
	exit 1
fi

dir=$1
secs=$2
jobs=${3:-1}
list=$(mktemp)
for f in "$dir"/fuzz-*; do
	[ -x "$f" ] || continue
	printf '%s\0' "$f" >>"$list"
done
[ -s "$list" ] || { rm -f "$list"; echo "fuzz: no harnesses built"; exit 1; }
status=0
xargs -0 -P "$jobs" -n 1 sh "$0" --one "$secs" <"$list" || status=1
rm -f "$list"
[ "$status" = 0 ] || { echo "fuzz: a harness FAILED (above)"; exit 1; }
