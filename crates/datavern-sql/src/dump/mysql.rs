//! MariaDB/MySQL dumps: one `START TRANSACTION WITH CONSISTENT SNAPSHOT`, every table
//! selected in primary-key order with each value as text (`CAST(… AS CHAR)`, binary columns
//! `HEX(…)`), one JSON array per row (`<table>.jsonl`); loaded with multi-row `INSERT`s in
//! one transaction, the server converting each text back to its column's type.

use std::path::Path;

use futures_util::TryStreamExt;
use sqlx::mysql::MySqlArguments;
use sqlx::{Arguments, MySqlConnection, MySqlPool, Row};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};

use super::{
    DumpManifest, LoadReport, MIGRATIONS_TABLE, SEEDED_TABLES, TableDump, dependency_order,
    file_name, io_error,
};
use crate::backend::Backend;
use crate::conn::Text;
use crate::dialect::Dialect;
use crate::error::{Result, SqlError};

const DIALECT: Dialect = Dialect::new(Backend::MySql);

/// The column types whose values are bytes, dumped as hex.
const BINARY_TYPES: &[&str] = &[
    "binary",
    "varbinary",
    "tinyblob",
    "blob",
    "mediumblob",
    "longblob",
];

/// Rows per `INSERT` when loading (well under the bind-parameter limit for any table here).
const ROWS_PER_INSERT: usize = 500;

pub(super) async fn dump(
    pool: &MySqlPool,
    dir: &Path,
    done: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<TableDump>> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *conn)
        .await?;
    sqlx::query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .execute(&mut *conn)
        .await?;
    let result = dump_tables(&mut conn, dir, done).await;
    sqlx::query("ROLLBACK").execute(&mut *conn).await?;
    result
}

async fn dump_tables(
    conn: &mut MySqlConnection,
    dir: &Path,
    done: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<TableDump>> {
    let names: Vec<Text> = sqlx::query_scalar(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut *conn)
    .await?;
    // Byte order, whatever the database's collation: files are handed on in name order.
    let mut names = names;
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tables = Vec::with_capacity(names.len());
    for Text(name) in names {
        let table = dump_table(conn, dir, name).await?;
        done(&table.file);
        tables.push(table);
    }
    Ok(tables)
}

async fn dump_table(conn: &mut MySqlConnection, dir: &Path, name: String) -> Result<TableDump> {
    let described: Vec<(Text, Text)> = sqlx::query_as(
        "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
    )
    .bind(&name)
    .fetch_all(&mut *conn)
    .await?;
    let key: Vec<Text> = sqlx::query_scalar(
        "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
         WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY' \
         ORDER BY ordinal_position",
    )
    .bind(&name)
    .fetch_all(&mut *conn)
    .await?;
    let columns: Vec<String> = described.iter().map(|(c, _)| c.0.clone()).collect();
    let hex_columns: Vec<String> = described
        .iter()
        .filter(|(_, t)| BINARY_TYPES.contains(&t.0.to_ascii_lowercase().as_str()))
        .map(|(c, _)| c.0.clone())
        .collect();
    let select: Vec<String> = columns
        .iter()
        .map(|c| {
            if hex_columns.contains(c) {
                format!("HEX({})", DIALECT.quote(c))
            } else {
                format!("CAST({} AS CHAR)", DIALECT.quote(c))
            }
        })
        .collect();
    let order = if key.is_empty() {
        String::new()
    } else {
        let key: Vec<String> = key.iter().map(|k| DIALECT.quote(&k.0)).collect();
        format!(" ORDER BY {}", key.join(", "))
    };
    let statement = format!(
        "SELECT {} FROM {}{order}",
        select.join(", "),
        DIALECT.quote(&name)
    );
    let file = file_name(&name, "jsonl");
    let out = tokio::fs::File::create(dir.join(&file))
        .await
        .map_err(|err| io_error(&format!("cannot create {file}"), err))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut rows = 0u64;
    let mut stream = sqlx::query(&statement).fetch(&mut *conn);
    while let Some(row) = stream.try_next().await? {
        let mut values: Vec<Option<String>> = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            let value: Option<Text> = row.try_get(index)?;
            values.push(value.map(|t| t.0));
        }
        let mut line = serde_json::to_vec(&values)
            .map_err(|err| SqlError::Dump(format!("cannot encode a row of {name}: {err}")))?;
        line.push(b'\n');
        out.write_all(&line)
            .await
            .map_err(|err| io_error(&format!("cannot write {file}"), err))?;
        rows += 1;
    }
    drop(stream);
    out.flush()
        .await
        .map_err(|err| io_error(&format!("cannot write {file}"), err))?;
    Ok(TableDump {
        name,
        columns,
        hex_columns,
        rows,
        file,
    })
}

pub(super) async fn load(
    pool: &MySqlPool,
    dir: &Path,
    manifest: &DumpManifest,
) -> Result<LoadReport> {
    let mut tx = pool.begin().await?;
    let edges: Vec<(Text, Text)> = sqlx::query_as(
        "SELECT CAST(table_name AS CHAR), CAST(referenced_table_name AS CHAR) \
         FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()",
    )
    .fetch_all(&mut *tx)
    .await?;
    let edges: Vec<(String, String)> = edges.into_iter().map(|(a, b)| (a.0, b.0)).collect();
    let tables: Vec<TableDump> = manifest
        .tables
        .iter()
        .filter(|t| t.name != MIGRATIONS_TABLE)
        .cloned()
        .collect();
    let mut report = LoadReport { tables: 0, rows: 0 };
    for table in dependency_order(&tables, &edges) {
        report.rows += load_table(&mut tx, dir, &table).await?;
        report.tables += 1;
    }
    tx.commit().await?;
    Ok(report)
}

async fn load_table(conn: &mut MySqlConnection, dir: &Path, table: &TableDump) -> Result<u64> {
    let file = tokio::fs::File::open(dir.join(&table.file))
        .await
        .map_err(|err| io_error(&format!("cannot open {}", table.file), err))?;
    let mut lines = BufReader::with_capacity(1 << 20, file).lines();
    let seeded = SEEDED_TABLES.contains(&table.name.as_str());
    let mut batch: Vec<Vec<Option<String>>> = Vec::with_capacity(ROWS_PER_INSERT);
    let mut rows = 0u64;
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|err| io_error(&format!("cannot read {}", table.file), err))?
    {
        let values: Vec<Option<String>> = serde_json::from_str(&line).map_err(|err| {
            SqlError::Dump(format!(
                "{} line {} cannot be read: {err}: the snapshot is damaged",
                table.file,
                rows + 1
            ))
        })?;
        if values.len() != table.columns.len() {
            return Err(SqlError::Dump(format!(
                "{} line {} has {} values for {} columns: the snapshot is damaged",
                table.file,
                rows + 1,
                values.len(),
                table.columns.len()
            )));
        }
        batch.push(values);
        rows += 1;
        if batch.len() == ROWS_PER_INSERT {
            write_rows(conn, table, seeded, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        write_rows(conn, table, seeded, &batch).await?;
    }
    if rows != table.rows {
        return Err(SqlError::Dump(format!(
            "{} holds {rows} rows where the manifest says {}: the snapshot is damaged",
            table.file, table.rows
        )));
    }
    Ok(rows)
}

async fn write_rows(
    conn: &mut MySqlConnection,
    table: &TableDump,
    seeded: bool,
    rows: &[Vec<Option<String>>],
) -> Result<()> {
    let mut args = MySqlArguments::default();
    for row in rows {
        for (column, value) in table.columns.iter().zip(row) {
            bind(&mut args, table, column, value.as_deref())?;
        }
    }
    let columns: Vec<String> = table.columns.iter().map(|c| DIALECT.quote(c)).collect();
    let statement = if seeded {
        if rows.len() != 1 {
            return Err(SqlError::Dump(format!(
                "the dump holds {} rows of {}, which has exactly one",
                rows.len(),
                table.name
            )));
        }
        let sets: Vec<String> = columns.iter().map(|c| format!("{c} = ?")).collect();
        format!(
            "UPDATE {} SET {}",
            DIALECT.quote(&table.name),
            sets.join(", ")
        )
    } else {
        let one = format!("({})", vec!["?"; columns.len()].join(", "));
        format!(
            "INSERT INTO {} ({}) VALUES {}",
            DIALECT.quote(&table.name),
            columns.join(", "),
            vec![one; rows.len()].join(", ")
        )
    };
    sqlx::query_with(&statement, args)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn bind(
    args: &mut MySqlArguments,
    table: &TableDump,
    column: &str,
    value: Option<&str>,
) -> Result<()> {
    let bound = if table.hex_columns.iter().any(|c| c == column) {
        let bytes = value.map(decode_hex).transpose().map_err(|()| {
            SqlError::Dump(format!(
                "{} holds a value of {column} that is not hex: the snapshot is damaged",
                table.file
            ))
        })?;
        args.add(bytes)
    } else {
        args.add(value.map(str::to_owned))
    };
    bound.map_err(|err| SqlError::Dump(format!("cannot bind a value of {column}: {err}")))
}

fn decode_hex(text: &str) -> std::result::Result<Vec<u8>, ()> {
    if !text.len().is_multiple_of(2) {
        return Err(());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or(())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::decode_hex;

    #[test]
    fn hex_decodes_mysql_hex_output_and_refuses_anything_else() {
        assert_eq!(decode_hex("00FF0a"), Ok(vec![0, 255, 10]));
        assert_eq!(decode_hex(""), Ok(vec![]));
        assert_eq!(decode_hex("0"), Err(()));
        assert_eq!(decode_hex("zz"), Err(()));
    }
}
