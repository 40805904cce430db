//! PostgreSQL dumps: `COPY` in PostgreSQL's binary format, from one `REPEATABLE READ`
//! snapshot, in primary-key order; loaded with `COPY … FROM STDIN` in one transaction.
//!
//! The binary format carries `bytea` (every ciphertext and blind index) as bytes, not as
//! hex text: a third less to write, chunk, compress and encrypt on the tables with personal
//! data, and no formatting work on the server. It loads only into columns of the same types,
//! which a restore has: the target is created by the same migrations and catalog.
//!
//! Both run with `row_security = off`: the collection tables force row-level security by
//! tenant, and a dump or load must see every tenant's rows or fail, never silently see
//! fewer. A role that is subject to the policies (the owner is, by `FORCE`) gets an error
//! that names the table; superusers and `BYPASSRLS` roles dump and load.

use std::path::Path;

use futures_util::TryStreamExt;
use sqlx::{PgConnection, PgPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};

use super::{
    DumpManifest, LoadReport, MIGRATIONS_TABLE, SEEDED_TABLES, TableDump, dependency_order,
    file_name, io_error,
};
use crate::backend::Backend;
use crate::dialect::Dialect;
use crate::error::{Result, SqlError};

const DIALECT: Dialect = Dialect::new(Backend::Postgres);

/// The table's OID from its name in the current schema.
const REGCLASS: &str = "(quote_ident(current_schema()) || '.' || quote_ident($1))::regclass";

pub(super) async fn dump(
    pool: &PgPool,
    dir: &Path,
    done: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<TableDump>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL row_security = off")
        .execute(&mut *tx)
        .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
         ORDER BY tablename",
    )
    .fetch_all(&mut *tx)
    .await?;
    // Byte order, whatever the database's collation: files are handed on in name order.
    let mut names = names;
    names.sort();
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let table = dump_table(&mut tx, dir, name).await?;
        done(&table.file);
        tables.push(table);
    }
    tx.rollback().await?;
    Ok(tables)
}

async fn dump_table(conn: &mut PgConnection, dir: &Path, name: String) -> Result<TableDump> {
    let columns = columns(conn, &name).await?;
    let key: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT a.attname::text FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
         WHERE i.indrelid = {REGCLASS} AND i.indisprimary \
         ORDER BY array_position(i.indkey::int2[], a.attnum)"
    ))
    .bind(&name)
    .fetch_all(&mut *conn)
    .await?;
    let order = if key.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", quoted_list(&key))
    };
    // The binary format has no row separator to count: the snapshot counts them.
    let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", DIALECT.quote(&name)))
        .fetch_one(&mut *conn)
        .await?;
    let statement = format!(
        "COPY (SELECT {} FROM {}{order}) TO STDOUT (FORMAT binary)",
        quoted_list(&columns),
        DIALECT.quote(&name)
    );
    let file = file_name(&name, "pgcopy");
    let out = tokio::fs::File::create(dir.join(&file))
        .await
        .map_err(|err| io_error(&format!("cannot create {file}"), err))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let rows = u64::try_from(rows).unwrap_or(0);
    let mut stream = conn.copy_out_raw(&statement).await?;
    while let Some(chunk) = stream.try_next().await? {
        out.write_all(&chunk)
            .await
            .map_err(|err| io_error(&format!("cannot write {file}"), err))?;
    }
    drop(stream);
    out.flush()
        .await
        .map_err(|err| io_error(&format!("cannot write {file}"), err))?;
    Ok(TableDump {
        name,
        columns,
        hex_columns: Vec::new(),
        rows,
        file,
    })
}

pub(super) async fn load(pool: &PgPool, dir: &Path, manifest: &DumpManifest) -> Result<LoadReport> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL row_security = off")
        .execute(&mut *tx)
        .await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *tx)
    .await?;
    let tables: Vec<TableDump> = manifest
        .tables
        .iter()
        .filter(|t| t.name != MIGRATIONS_TABLE)
        .cloned()
        .collect();
    let mut report = LoadReport { tables: 0, rows: 0 };
    for table in dependency_order(&tables, &edges) {
        report.rows += if SEEDED_TABLES.contains(&table.name.as_str()) {
            load_seeded(&mut tx, dir, &table).await?
        } else {
            copy_in(&mut tx, dir, &table, &DIALECT.quote(&table.name)).await?
        };
        report.tables += 1;
        advance_identities(&mut tx, &table.name).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Replaces the row the migrations seeded with the dumped one, through a temporary table.
async fn load_seeded(conn: &mut PgConnection, dir: &Path, table: &TableDump) -> Result<u64> {
    let quoted = DIALECT.quote(&table.name);
    sqlx::query(&format!(
        "CREATE TEMPORARY TABLE dv_dump_seed (LIKE {quoted}) ON COMMIT DROP"
    ))
    .execute(&mut *conn)
    .await?;
    let rows = copy_in(conn, dir, table, "dv_dump_seed").await?;
    if rows != 1 {
        return Err(SqlError::Dump(format!(
            "the dump holds {rows} rows of {}, which has exactly one",
            table.name
        )));
    }
    let columns = quoted_list(&table.columns);
    sqlx::query(&format!(
        "UPDATE {quoted} SET ({columns}) = (SELECT {columns} FROM dv_dump_seed)"
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query("DROP TABLE dv_dump_seed")
        .execute(&mut *conn)
        .await?;
    Ok(rows)
}

async fn copy_in(
    conn: &mut PgConnection,
    dir: &Path,
    table: &TableDump,
    into: &str,
) -> Result<u64> {
    let mut file = tokio::fs::File::open(dir.join(&table.file))
        .await
        .map_err(|err| io_error(&format!("cannot open {}", table.file), err))?;
    let statement = format!(
        "COPY {into} ({}) FROM STDIN (FORMAT binary)",
        quoted_list(&table.columns)
    );
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = match file.read(&mut buffer).await {
            Ok(read) => read,
            Err(err) => {
                let message = format!("cannot read {}: {err}", table.file);
                copy.abort(message.clone()).await?;
                return Err(SqlError::Dump(message));
            }
        };
        if read == 0 {
            break;
        }
        copy.send(&buffer[..read]).await?;
    }
    let rows = copy.finish().await?;
    if rows != table.rows {
        return Err(SqlError::Dump(format!(
            "{} holds {rows} rows where the manifest says {}: the snapshot is damaged",
            table.file, table.rows
        )));
    }
    Ok(rows)
}

/// Moves every identity column's sequence past the largest id loaded, so the next insert
/// does not collide with a restored row.
async fn advance_identities(conn: &mut PgConnection, table: &str) -> Result<()> {
    let identities: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    for column in identities {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), m) \
             FROM (SELECT max({}) AS m FROM {}) x WHERE m IS NOT NULL",
            DIALECT.quote(&column),
            DIALECT.quote(table)
        ))
        .bind(DIALECT.quote(table))
        .bind(&column)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn columns(conn: &mut PgConnection, table: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT attname::text FROM pg_attribute \
         WHERE attrelid = {REGCLASS} AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    ))
    .bind(table)
    .fetch_all(&mut *conn)
    .await?)
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| DIALECT.quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}
