#!/usr/bin/env bash
# The backup benchmark of BENCHMARKS.md: `datavern backup create` against `pg_dump | zstd` and
# against `restic backup` of the same dump, on one seeded PostgreSQL database, in one run on
# one machine; then the snapshot after 1 % of the records changed (appended, and updated in
# place), and the restore.
#
#   bench/backup/run.sh [RECORDS]     (default 1000000; needs a release build, PostgreSQL on
#                                      127.0.0.1:5432 as postgres, pg_dump, zstd, restic)
set -euo pipefail
cd "$(dirname "$0")/../.."

RECORDS="${1:-1000000}"
CHANGE=$((RECORDS / 100))
PG="postgres://postgres@127.0.0.1:5432"
DB=dv_backup_bench
KEYS=dv_backup_bench_keys
DATAVERN="${DATAVERN:-${CARGO_TARGET_DIR:-target}/release/datavern}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

psql() { command psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
for db in "$DB" "$KEYS" "${DB}_restored"; do
    psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
done
psql -d postgres -c "CREATE DATABASE $DB"
psql -d postgres -c "CREATE DATABASE $KEYS"
psql -d postgres -c "CREATE DATABASE ${DB}_restored"

cat > "$WORK/datavern.toml" <<TOML
data_dir = "$WORK/data"
[database]
url = "$PG/$DB"
keys_url = "$PG/$KEYS"
[backup]
repository = "$WORK/repo"
location = "no"
TOML
mkdir -p "$WORK/data"
dv() { "$DATAVERN" "$@" --config "$WORK/datavern.toml"; }
seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
size() { du -sb "$1" | cut -f1; }

# datavern init writes keys for a configured store; a KEK and signing key are enough here.
"$DATAVERN" init --help >/dev/null
RUST_LOG=warn "$DATAVERN" demo seed --records 10 --data-dir "$WORK/seedkeys" >/dev/null
cp "$WORK/seedkeys/kek.key" "$WORK/seedkeys/audit-signing.key" "$WORK/data/"
chmod 600 "$WORK/data/"*

echo "seeding $RECORDS records on PostgreSQL"
RUST_LOG=warn dv demo seed --records "$RECORDS" --seed 42 >/dev/null
psql -d "$DB" -c "VACUUM ANALYZE"
DBSIZE=$(psql -d "$DB" -c "SELECT pg_database_size('$DB')")

dv backup init >/dev/null
T_DV=$(RUST_LOG=warn seconds dv backup create --json)
S_DV=$(size "$WORK/repo")

T_PGD=$(seconds sh -c "pg_dump -h 127.0.0.1 -U postgres $DB | zstd -q -3 -T1 > $WORK/dump.sql.zst")
S_PGD=$(size "$WORK/dump.sql.zst")

export RESTIC_PASSWORD=bench
restic -r "$WORK/restic" init -q
pg_dump -h 127.0.0.1 -U postgres "$DB" > "$WORK/dump.sql"
T_RESTIC=$(seconds restic -r "$WORK/restic" --no-cache -q backup --stdin --stdin-filename dump.sql < "$WORK/dump.sql")
S_RESTIC=$(size "$WORK/restic")

echo "1 % appended: $CHANGE new records"
RUST_LOG=warn dv demo seed --records "$CHANGE" --seed 43 >/dev/null
BEFORE=$(size "$WORK/repo")
T_APPEND=$(RUST_LOG=warn seconds dv backup create)
S_APPEND=$(( $(size "$WORK/repo") - BEFORE ))

echo "1 % updated in place: $CHANGE records, scattered"
psql -d "$DB" -c "UPDATE c_innbyggere SET version = version + 1 WHERE id IN (SELECT id FROM c_innbyggere ORDER BY md5(id::text) LIMIT $CHANGE)"
BEFORE=$(size "$WORK/repo")
T_UPDATE=$(RUST_LOG=warn seconds dv backup create)
S_UPDATE=$(( $(size "$WORK/repo") - BEFORE ))

T_RESTORE=$(RUST_LOG=warn seconds dv backup restore latest --into "$PG/${DB}_restored")
T_PGRESTORE=$(seconds sh -c "psql -d postgres -c 'DROP DATABASE IF EXISTS ${DB}_pg WITH (FORCE)' && psql -d postgres -c 'CREATE DATABASE ${DB}_pg' && zstd -dc $WORK/dump.sql.zst | command psql -h 127.0.0.1 -U postgres -q -d ${DB}_pg")

cat <<REPORT
records: $RECORDS (database $DBSIZE bytes)
| | wall time (s) | stored (bytes) |
|---|---:|---:|
| datavern backup create (full) | $T_DV | $S_DV |
| pg_dump \| zstd -3 | $T_PGD | $S_PGD |
| restic backup of the pg_dump output | $T_RESTIC | $S_RESTIC |
| datavern backup create after 1 % appended | $T_APPEND | +$S_APPEND |
| datavern backup create after 1 % updated in place | $T_UPDATE | +$S_UPDATE |
| datavern backup restore (into an empty database) | $T_RESTORE | |
| psql restore of the pg_dump output | $T_PGRESTORE | |
REPORT
for db in "$DB" "$KEYS" "${DB}_restored" "${DB}_pg"; do
    psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
done
