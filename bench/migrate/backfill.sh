#!/usr/bin/env bash
# The backfill benchmark of BENCHMARKS.md: `datavern migrate apply` encrypting one plain field
# (innbyggere.postnummer) of RECORDS seeded residents on PostgreSQL, while `datavern serve`
# answers reads of residents from wrk; then `migrate complete`. Prints the backfill's rows/s
# and the reads' latency before and during the backfill, in one run on one machine.
#
#   bench/migrate/backfill.sh [RECORDS]   (default 1000000; needs a release build, PostgreSQL
#                                          on 127.0.0.1:5432 as postgres, wrk)
#   BATCH=1000 (rows per backfill transaction, pgroll's default), CLIENTS=4, PORT=18181
set -euo pipefail
cd "$(dirname "$0")/../.."

RECORDS="${1:-1000000}"
BATCH="${BATCH:-1000}"
CLIENTS="${CLIENTS:-4}"
PORT="${PORT:-18181}"
PG="postgres://postgres@127.0.0.1:5432"
DB=dv_backfill_data
KEYS=dv_backfill_keys
DATAVERN="${DATAVERN:-${CARGO_TARGET_DIR:-target}/release/datavern}"
WORK="$(mktemp -d)"
SERVER=
LOAD=
cleanup() {
    [ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null || true
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

psql() { command psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
for db in "$DB" "$KEYS"; do
    psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    psql -d postgres -c "CREATE DATABASE $db"
done

# Keys and a development API key from a first start in development mode (SQLite, then
# stopped); the benchmark itself runs on PostgreSQL with the same key files.
mkdir -p "$WORK/data"
RUST_LOG=warn "$DATAVERN" serve --data-dir "$WORK/dev" --listen 127.0.0.1:0 > "$WORK/dev.out" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$WORK/dev.out" && break; sleep 0.1; done
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=
cp "$WORK/dev/kek.key" "$WORK/dev/audit-signing.key" "$WORK/dev/principals.toml" "$WORK/data/"
KEY=$(cat "$WORK/dev/dev-api-key")
export DATAVERN_DATABASE__URL="$PG/$DB" DATAVERN_DATABASE__KEYS_URL="$PG/$KEYS"
dv() { RUST_LOG=warn "$DATAVERN" "$@" --data-dir "$WORK/data"; }

echo "seeding $RECORDS records on PostgreSQL"
start=$(date +%s.%N)
dv demo seed --records "$RECORDS" --seed 2026 > /dev/null
echo "seeded in $(echo "$(date +%s.%N) - $start" | bc) s"
psql -d "$DB" -c "VACUUM ANALYZE"

RUST_LOG=warn "$DATAVERN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 300); do grep -q listening "$WORK/serve.out" && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT/v1/collections/innbyggere/records"

# wrk reads 200 residents at random, by id, under `innbyggerregister`.
curl -sf -H "Authorization: Bearer $KEY" -H "Datavern-Purpose: innbyggerregister" \
    "$BASE?limit=200" | python3 -c '
import json, sys
ids = [r["id"] for r in json.load(sys.stdin)["items"]]
print("local ids = {" + ",".join(chr(34) + i + chr(34) for i in ids) + "}")
print("request = function() return wrk.format(\"GET\", \"/v1/collections/innbyggere/records/\" .. ids[math.random(#ids)]) end")
' > "$WORK/read.lua"
load() { # seconds
    wrk -t 2 -c "$CLIENTS" -d "$1" --latency -s "$WORK/read.lua" \
        -H "Authorization: Bearer $KEY" -H "Datavern-Purpose: innbyggerregister" \
        "http://127.0.0.1:$PORT"
}

echo "== reads alone, 30 s"
load 30s | tee "$WORK/alone.txt" | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors' || true

sed 's/^        identifier: postnummer$/        identifier: postnummer\n        encrypted: true/' \
    examples/kommune.yaml > "$WORK/kommune-v2.yaml"
grep -q 'encrypted: true' "$WORK/kommune-v2.yaml"
dv migrate plan --catalog "$WORK/kommune-v2.yaml" | head -5

echo "== migrate apply (batch $BATCH) with reads running"
wrk -t 2 -c "$CLIENTS" -d 3600s --latency -s "$WORK/read.lua" \
    -H "Authorization: Bearer $KEY" -H "Datavern-Purpose: innbyggerregister" \
    "http://127.0.0.1:$PORT" > "$WORK/during.txt" 2>&1 &
LOAD=$!
sleep 2
start=$(date +%s.%N)
dv migrate apply --catalog "$WORK/kommune-v2.yaml" --batch-size "$BATCH" --json > "$WORK/apply.json"
T_APPLY=$(echo "$(date +%s.%N) - $start" | bc)
sleep 1
kill -INT "$LOAD"; wait "$LOAD" 2>/dev/null || true
LOAD=
ROWS=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(b["rows"] for b in r["backfilled"]))' "$WORK/apply.json")
echo "backfilled $ROWS rows in ${T_APPLY} s ($(echo "$ROWS / $T_APPLY" | bc) rows/s, whole command)"
grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors' "$WORK/during.txt" || true

kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=
echo "== migrate complete (servers stopped)"
start=$(date +%s.%N)
dv migrate complete --json > "$WORK/complete.json"
echo "complete in $(echo "$(date +%s.%N) - $start" | bc) s"
dv audit verify | tail -1
