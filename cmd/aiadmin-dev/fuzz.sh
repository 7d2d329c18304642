#!/usr/bin/env bash
# fuzz.sh TIME PKG:FUZZER... runs Go native fuzzers (testing.F) for TIME each (3s, 60s, 10m),
# one after the other: Go fuzzes one target per run. The Makefile keeps the list (FUZZERS).
#
# Each package's test binary is built once, with the fuzzing instrumentation, and run in the
# package's directory: a failing input is written to <pkg>/testdata/fuzz/<FUZZER>/ (commit it
# with the fix), and the corpus kept between runs is the one `go test -fuzz` uses
# ($GOCACHE/fuzz). One line per fuzzer; the whole output of a failing one.
set -euo pipefail

if [[ $# -lt 2 ]]; then
	echo "usage: $0 TIME PKG:FUZZER..." >&2
	exit 2
fi
fuzztime=$1
shift
go=${GO:-go}
cache=$("$go" env GOCACHE)/fuzz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A built
for spec in "$@"; do
	pkg=${spec%%:*}
	name=${spec#*:}
	bin=$tmp/$(tr '/.' '__' <<<"$pkg").test
	if [[ -z ${built[$pkg]:-} ]]; then
		"$go" test -c -fuzz="^$name\$" -o "$bin" "$pkg"
		built[$pkg]=$("$go" list "$pkg")
	fi
	start=$SECONDS
	if ! out=$(cd "$pkg" && "$bin" -test.run='^$' -test.fuzz="^$name\$" -test.fuzztime="$fuzztime" \
		-test.fuzzcachedir="$cache/${built[$pkg]}" 2>&1); then
		# Go 1.26's coordinator can report its own TIME deadline as the fuzzer's failure when
		# a worker is busy as it runs out (golang/go#75804, fixed in Go 1.27): no input failed,
		# and none was written. Anything else fails.
		if grep -qx '    context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			echo "ok   $spec: stopped by Go's fuzztime race (golang/go#75804), no failing input ($((SECONDS - start))s)"
			continue
		fi
		echo "$out"
		echo "FAIL $spec (to re-run the failing input: go test -run=$name/<file> $pkg)"
		exit 1
	fi
	# The last progress line: "execs: N (…/sec), new interesting: …", or, when TIME ran out while
	# the corpus of earlier runs was being replayed, "gathering baseline coverage: i/n completed".
	status=$(grep '^fuzz: elapsed' <<<"$out" | tail -n 1 | sed 's/^fuzz: elapsed: [^,]*, //' || true)
	echo "ok   $spec: ${status:-?} ($((SECONDS - start))s)"
done
echo "fuzzers done in ${SECONDS}s"
