#!/usr/bin/env bash
# The migration benchmark of BENCHMARKS.md: `datavern migrate copy` of a seeded SQLite
# installation (data.db and keys.db) into two empty PostgreSQL databases, against pgloader
# loading the same two SQLite files into two other empty PostgreSQL databases, in one run on
# one machine. Prints rows, seconds and rows/s of each.
#
#   bench/migrate/run.sh [RECORDS]    (default 1000000; needs a release build, PostgreSQL on
#                                      127.0.0.1:5432 as postgres, pgloader)
set -euo pipefail
cd "$(dirname "$0")/../.."

RECORDS="${1:-1000000}"
PG="postgres://postgres@127.0.0.1:5432"
DATAVERN="${DATAVERN:-${CARGO_TARGET_DIR:-target}/release/datavern}"
WORK="${WORK:-$(mktemp -d)}"

psql() { command psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
for db in dv_copy_data dv_copy_keys dv_pgloader_data dv_pgloader_keys; do
    psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    psql -d postgres -c "CREATE DATABASE $db"
done

if [ ! -f "$WORK/data/data.db" ]; then
    echo "seeding $RECORDS records on SQLite in $WORK/data"
    RUST_LOG=warn "$DATAVERN" demo seed --records "$RECORDS" --seed 2026 --data-dir "$WORK/data" >/dev/null
fi
ROWS=$(for f in data keys; do
    sqlite3 "$WORK/data/$f.db" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'" |
        while read -r t; do sqlite3 "$WORK/data/$f.db" "SELECT COUNT(*) FROM \"$t\""; done
done | paste -sd+ | bc)
echo "rows in the source: $ROWS"

start=$(date +%s.%N)
RUST_LOG=warn "$DATAVERN" migrate copy --data-dir "$WORK/data" \
    --to "$PG/dv_copy_data" --keys-to "$PG/dv_copy_keys" --location no --json > "$WORK/copy.json" 2> "$WORK/copy.err"
T_DV=$(echo "$(date +%s.%N) - $start" | bc)
python3 - "$WORK/copy.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = r["data"]["rows_copied"] + r["keys"]["rows_copied"]
copy = r["data"]["copy_seconds"] + r["keys"]["copy_seconds"]
verify = r["data"]["verify_seconds"] + r["keys"]["verify_seconds"]
print(f"datavern migrate copy: verified={r['verified']} rows={rows} copy={copy:.1f}s ({rows/copy:,.0f} rows/s) verify={verify:.1f}s")
PY
echo "datavern migrate copy, whole command: ${T_DV}s"

# pgloader's defaults, but for resetting sequences (its reset quotes the column `position` of
# dv_outbox twice and fails after the rows are loaded) and for smaller batches: with its
# defaults, Debian's pgloader 3.6.7 exhausts its 1 GiB heap on the 1M-record database.
for f in data keys; do
    cat > "$WORK/pgloader-$f.load" <<LOAD
LOAD DATABASE
    FROM sqlite://$WORK/data/$f.db
    INTO postgresql://postgres@127.0.0.1:5432/dv_pgloader_$f
    WITH include drop, create tables, create indexes, reset no sequences,
         prefetch rows = 10000, batch rows = 5000, workers = 2, concurrency = 1;
LOAD
done
start=$(date +%s.%N)
pgloader "$WORK/pgloader-data.load" > "$WORK/pgloader-data.log" 2>&1
pgloader "$WORK/pgloader-keys.load" > "$WORK/pgloader-keys.log" 2>&1
T_PGL=$(echo "$(date +%s.%N) - $start" | bc)
echo "pgloader (data + keys): ${T_PGL}s ($(echo "$ROWS / $T_PGL" | bc) rows/s)"
tail -5 "$WORK/pgloader-data.log"
