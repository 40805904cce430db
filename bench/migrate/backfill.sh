#!/usr/bin/env bash
# The backfill benchmark of BENCHMARKS.md: `datavern migrate apply` encrypting one plain field
# (innbyggere.postnummer) of RECORDS seeded residents on PostgreSQL, while `datavern serve`
# answers reads of residents from wrk; then `migrate complete`. Prints the backfill's rows/s
# and the reads' latency before and during the backfill, in one run on one machine.
#
#   bench/migrate/backfill.sh [RECORDS]   (default 1000000; needs a release build, PostgreSQL
#                                          on 127.0.0.1:5432 as postgres, wrk)
#   BATCH=1000 (rows per backfill transaction, pgroll's default), CLIENTS=4 and PAUSE_MS=40
#   (each client waits that long between reads: about 100 reads/s, an application's load
#   rather than all the machine can answer, which would starve the backfill), PORT=18181;
#   EXISTING=DIR DB=… KEYS=…: use an installation already on PostgreSQL (e.g. the target of
#   bench/migrate/run.sh, DB=dv_copy_data KEYS=dv_copy_keys, DIR its data directory with the
#   key files) instead of seeding one.
set -euo pipefail
cd "$(dirname "$0")/../.."

RECORDS="${1:-1000000}"
BATCH="${BATCH:-1000}"
CLIENTS="${CLIENTS:-4}"
PAUSE_MS="${PAUSE_MS:-40}"
PORT="${PORT:-18181}"
PG="postgres://postgres@127.0.0.1:5432"
DB="${DB:-dv_backfill_data}"
KEYS="${KEYS:-dv_backfill_keys}"
EXISTING="${EXISTING:-}"
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
if [ -z "$EXISTING" ]; then
    for db in "$DB" "$KEYS"; do
        psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
        psql -d postgres -c "CREATE DATABASE $db"
    done
fi

# Keys and a development API key from a first start in development mode (SQLite, then
# stopped); the benchmark itself runs on PostgreSQL with the same key files.
mkdir -p "$WORK/data"
RUST_LOG=warn "$DATAVERN" serve --data-dir "$WORK/dev" --listen 127.0.0.1:0 > "$WORK/dev.out" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$WORK/dev.out" && break; sleep 0.1; done
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
SERVER=
if [ -n "$EXISTING" ]; then
    cp "$EXISTING/kek.key" "$EXISTING/audit-signing.key" "$WORK/data/"
else
    cp "$WORK/dev/kek.key" "$WORK/dev/audit-signing.key" "$WORK/data/"
fi
cp "$WORK/dev/principals.toml" "$WORK/data/"
KEY=$(cat "$WORK/dev/dev-api-key")
export DATAVERN_DATABASE__URL="$PG/$DB" DATAVERN_DATABASE__KEYS_URL="$PG/$KEYS"
dv() { RUST_LOG=warn "$DATAVERN" "$@" --data-dir "$WORK/data"; }

if [ -z "$EXISTING" ]; then
    echo "seeding $RECORDS records on PostgreSQL"
    start=$(date +%s.%N)
    dv demo seed --records "$RECORDS" --seed 2026 > /dev/null
    echo "seeded in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
psql -d "$DB" -c "VACUUM ANALYZE"
echo "residents: $(psql -d "$DB" -c "SELECT COUNT(*) FROM c_innbyggere")"

# No rate limits: the load is the point.
export DATAVERN_SERVER__RATE_LIMIT_PER_IP=0 DATAVERN_SERVER__RATE_LIMIT_PER_PRINCIPAL=0
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
echo "delay = function() return $PAUSE_MS end" >> "$WORK/read.lua"
load() { # seconds
    wrk -t 2 -c "$CLIENTS" -d "$1" --latency -s "$WORK/read.lua" \
        -H "Authorization: Bearer $KEY" -H "Datavern-Purpose: innbyggerregister" \
        "http://127.0.0.1:$PORT"
}

echo "== reads alone, 30 s"
load 30s | tee "$WORK/alone.txt" | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors' || true
if grep -q Non-2xx "$WORK/alone.txt"; then
    echo "reads failed: fix the setup before measuring" >&2
    exit 1
fi

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
