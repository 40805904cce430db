#!/usr/bin/env bash
# The import figures of BENCHMARKS.md: ROWS (default 100,000) synthetic residents written as a
# legacy CSV export by `datavern demo csv`, then imported through the governed path
# (`datavern import`) into fresh databases: SQLite (an embedded data directory) and
# PostgreSQL (two fresh databases on 127.0.0.1:5432, user postgres). Prints each run's report
# line and the wall time of the whole command.
#
#     cargo build --release -p datavern-cli
#     bench/import/run.sh     # ROWS=100000 DATAVERN=target/release/datavern; DRY_RUN=1 adds a dry run
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${DATAVERN:-${CARGO_TARGET_DIR:-target}/release/datavern}
rows=${ROWS:-100000}
batch=${BATCH:-500}
pg=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" demo csv --records "$rows" --seed 2026 --out "$work/innbyggere.csv"
import=(import --collection innbyggere --purpose innbyggerregister
        --csv "$work/innbyggere.csv" --delimiter ';' --batch-size "$batch"
        --mapping examples/import/innbyggere-mapping.yaml)

run() { # label, extra arguments…
    local label=$1
    shift
    local start end
    start=$(date +%s.%N)
    RUST_LOG=warn "$bin" "${import[@]}" "$@" --json > "$work/report.json"
    end=$(date +%s.%N)
    jq -r --arg name "$label" --arg wall "$(echo "$end - $start" | bc)" \
        '"\($name): read \(.rows_read), imported \(.imported), rejected \(.rejected) in \(.elapsed_seconds * 10 | round / 10) s: \(.rows_per_second | round) rows/s (wall \($wall | tonumber * 10 | round / 10) s)"' \
        "$work/report.json"
}

if [ -n "${DRY_RUN:-}" ]; then
    run "SQLite dry run" --data-dir "$work/sqlite" --dry-run
fi
run "SQLite" --data-dir "$work/sqlite"

psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS import_bench_data' \
    -c 'DROP DATABASE IF EXISTS import_bench_keys' \
    -c 'CREATE DATABASE import_bench_data' -c 'CREATE DATABASE import_bench_keys'
"$bin" init --dir "$work/site" > /dev/null
(
    export DATAVERN_DATABASE__URL="$pg/import_bench_data"
    export DATAVERN_DATABASE__KEYS_URL="$pg/import_bench_keys"
    run "PostgreSQL" --config "$work/site/datavern.toml"
)
psql "$pg/postgres" -qc 'DROP DATABASE import_bench_data' -c 'DROP DATABASE import_bench_keys'
