#!/usr/bin/env bash
# Profiles the governed side of `datavern bench` system-wide (the bench process, which holds
# the HTTP server and its client, and the database server's processes) and prints where the
# CPU time goes by component (classify.py). Sampling is switched on only while a governed
# run (warm-up and measured window) is in progress, so seeding and the raw baseline are left
# out. The arguments go to `datavern bench`, e.g.
#
#   bench/profile/profile.sh --backends postgres --scenarios read --clients 16 --records 100000
#
# Needs `perf` (Debian: linux-perf) and a release build (`cargo build --release`). Samples
# the CPU clock, so it works where hardware counters are not available.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="${CARGO_TARGET_DIR:-target}/release/datavern"
out="$(mktemp -d)"
if [ -n "${PROFILE_KEEP:-}" ]; then out="$PROFILE_KEEP"; mkdir -p "$out"; rm -f "$out/ctl" "$out/ack"; else trap 'rm -rf "$out"' EXIT; fi
mkfifo "$out/ctl" "$out/ack"

# Starts disabled (-D -1); enabled and disabled through the control fifo.
perf record -a -g -F 499 -e cpu-clock -D -1 --control "fifo:$out/ctl,$out/ack" \
    -o "$out/perf.data" -- sleep 86400 2> "$out/perf.log" &
perf_pid=$!
exec 3> "$out/ctl" 4< "$out/ack"

"$bin" bench --trace-sides "$@" > "$out/bench.txt" 2> >(
    while IFS= read -r line; do
        printf '%s\n' "$line" >&2
        case "$line" in
            "side started: "*" governed") echo enable >&3; read -r _ <&4 ;;
            "side finished: "*" governed") echo disable >&3; read -r _ <&4 ;;
        esac
    done
) &
bench_pid=$!
wait "$bench_pid"
sleep 0.5
kill -INT "$perf_pid"
wait "$perf_pid" || true
cat "$out/bench.txt"
echo
perf script -i "$out/perf.data" -F comm,pid,tid,ip,sym,dso 2>/dev/null \
    | python3 bench/profile/classify.py "$bench_pid"
