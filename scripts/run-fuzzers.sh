#!/bin/sh
# run-fuzzers.sh BUILD_DIR SECONDS - run every libFuzzer harness built in
# BUILD_DIR for SECONDS each, starting from its seed corpus in
# tests/fuzz/corpus/NAME/ when there is one. Fails on the first crash.
set -eu
dir=$1
secs=$2
top=$(cd "$(dirname "$0")/.." && pwd)
found=0
for f in "$dir"/fuzz-*; do
	[ -x "$f" ] || continue
	found=1
	name=$(basename "$f")
	work=$(mktemp -d)
	seeds="$top/tests/fuzz/corpus/$name"
	[ -d "$seeds" ] && cp "$seeds"/* "$work"/ 2>/dev/null || true
	echo "fuzz: $name for ${secs}s"
	"$f" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 "$work" >"$work.log" 2>&1 || {
		tail -40 "$work.log"
		echo "fuzz: $name FAILED"
		exit 1
	}
	tail -1 "$work.log"
	rm -rf "$work" "$work.log"
done
[ "$found" = 1 ] || { echo "fuzz: no harnesses built"; exit 1; }
