//! The data subject's controls at the decision point: the facts `datavern_core::controls`
//! decides on (the row's restriction mark, the primary subject's current consent, whether a
//! subject objected), read in the same statement as the record, so a change takes effect on
//! the next request and a read costs no extra round trip.
//!
//! ```text
//! SELECT id, …, <fields>, dv_restricted
//!      , (SELECT state FROM dv_consent_state                      -- consent purposes only
//!          WHERE tenant = ? AND purpose = ? AND subject_id = c_x.<primary subject>)
//!      , (SELECT COUNT(*) FROM dv_objections                      -- 6(1)(e)/(f) purposes only
//!          WHERE tenant = ? AND lifted_at IS NULL AND (purpose IS NULL OR purpose = ?)
//!            AND (subject_id = c_x.<subject> OR …))
//!   FROM c_x WHERE …
//! ```
//!
//! A create has no row yet: its referenced subjects are checked against `dv_restrictions`,
//! `dv_objections` and `dv_consent_state` inside the create's transaction.

use std::collections::{HashMap, HashSet};

use datavern_core::access::{ConsentState, Grant};
use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_core::controls::{ControlNeeds, SubjectControls};
use datavern_sql::Conn;
use sea_query::{Alias, Cond, Expr, Query, SelectStatement, SimpleExpr};
use uuid::Uuid;

use super::row::{self, Cell, ColumnKind};
use crate::consent::GRANTED;
use crate::error::Result;
use crate::schema::RESTRICTED_COLUMN;
use crate::table::{KeyOwner, Table};

/// Ids per `IN (…)` list, well below every backend's parameter limit.
const CHUNK: usize = 500;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// What the row statement must add for one grant.
#[derive(Debug, Clone)]
pub(super) struct ControlQuery {
    tenant: Kommunenummer,
    purpose: String,
    needs: ControlNeeds,
}

impl ControlQuery {
    /// The lookups `grant` needs (see `datavern_core::controls::needs`).
    pub(super) fn new(catalog: &Catalog, grant: &Grant) -> Self {
        ControlQuery {
            tenant: grant.tenant(),
            purpose: grant.purpose().as_str().to_owned(),
            needs: datavern_core::controls::needs(catalog, grant),
        }
    }

    /// Adds the control columns to a row statement of `plan`'s table (after every other
    /// column), with their kinds.
    pub(super) fn add_columns(
        &self,
        select: &mut SelectStatement,
        plan: &Table,
        kinds: &mut Vec<ColumnKind>,
    ) {
        select.column(col(RESTRICTED_COLUMN));
        kinds.push(ColumnKind::Boolean);
        let subjects = plan.subject_columns();
        if self.needs.consent {
            let primary = subjects
                .first()
                .copied()
                .filter(|_| plan.layout().primary_subject_column().is_some());
            let expr: SimpleExpr = match primary {
                Some(primary) => {
                    let sub = Query::select()
                        .column(col("state"))
                        .from(col("dv_consent_state"))
                        .and_where(
                            Expr::col((col("dv_consent_state"), col("tenant")))
                                .eq(self.tenant.as_str()),
                        )
                        .and_where(
                            Expr::col((col("dv_consent_state"), col("purpose")))
                                .eq(self.purpose.as_str()),
                        )
                        .and_where(
                            Expr::col((col("dv_consent_state"), col("subject_id")))
                                .equals((col(plan.table()), col(primary))),
                        )
                        .to_owned();
                    SimpleExpr::SubQuery(None, Box::new(sub.into_sub_query_statement()))
                }
                None => Expr::value(sea_query::Value::String(None)),
            };
            select.expr(expr);
            kinds.push(ColumnKind::Text);
        }
        if self.needs.objection {
            let mut any = Cond::any();
            for column in &subjects {
                any = any.add(
                    Expr::col((col("dv_objections"), col("subject_id")))
                        .equals((col(plan.table()), col(column))),
                );
            }
            let expr: SimpleExpr = if subjects.is_empty() {
                Expr::val(0i64).into()
            } else {
                let sub = Query::select()
                    .expr(Expr::cust("COUNT(*)"))
                    .from(col("dv_objections"))
                    .and_where(
                        Expr::col((col("dv_objections"), col("tenant"))).eq(self.tenant.as_str()),
                    )
                    .and_where(Expr::col((col("dv_objections"), col("lifted_at"))).is_null())
                    .cond_where(
                        Cond::any()
                            .add(Expr::col((col("dv_objections"), col("purpose"))).is_null())
                            .add(
                                Expr::col((col("dv_objections"), col("purpose")))
                                    .eq(self.purpose.as_str()),
                            ),
                    )
                    .cond_where(any)
                    .to_owned();
                SimpleExpr::SubQuery(None, Box::new(sub.into_sub_query_statement()))
            };
            select.expr(expr);
            kinds.push(ColumnKind::Integer);
        }
    }

    /// Decodes the columns [`add_columns`](Self::add_columns) added, in order.
    pub(super) fn decode(&self, cells: &mut impl Iterator<Item = Cell>) -> SubjectControls {
        let restricted = matches!(cells.next(), Some(Cell::Boolean(true) | Cell::Integer(1..)));
        let consent = if self.needs.consent {
            consent_state(cells.next())
        } else {
            ConsentState::Unknown
        };
        let objected = self.needs.objection && matches!(cells.next(), Some(Cell::Integer(1..)));
        SubjectControls {
            consent,
            restricted,
            objected,
        }
    }

    /// The controls of each record a create would write, from the subjects it refers to
    /// (primary first, as `plan.references`), read in the create's transaction. A record that
    /// is its own subject (`subjects: self`) has no recorded controls yet: its consent is
    /// `own_consent` (the consent given with the create, if any).
    pub(super) async fn for_new_records(
        &self,
        conn: &mut Conn<'_>,
        plan: &Table,
        records: &[&[Option<Uuid>]],
        own_consent: ConsentState,
    ) -> Result<Vec<SubjectControls>> {
        let all: Vec<Uuid> = records
            .iter()
            .flat_map(|refs| refs.iter().flatten().copied())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let restricted = active_subjects(conn, "dv_restrictions", self.tenant, &all, None).await?;
        let objected = if self.needs.objection {
            active_subjects(
                conn,
                "dv_objections",
                self.tenant,
                &all,
                Some(self.purpose.as_str()),
            )
            .await?
        } else {
            HashSet::new()
        };
        let consents = if self.needs.consent && plan.key_owner() == KeyOwner::PrimaryReference {
            let primaries: Vec<Uuid> = records
                .iter()
                .filter_map(|refs| refs.first().copied().flatten())
                .collect();
            consent_states(conn, self.tenant, &self.purpose, &primaries).await?
        } else {
            HashMap::new()
        };
        Ok(records
            .iter()
            .map(|refs| {
                let consent = if !self.needs.consent {
                    ConsentState::Unknown
                } else {
                    match plan.key_owner() {
                        KeyOwner::Record => own_consent,
                        KeyOwner::PrimaryReference => refs
                            .first()
                            .copied()
                            .flatten()
                            .and_then(|p| consents.get(&p).copied())
                            .unwrap_or(ConsentState::NotGranted),
                        KeyOwner::OwnKey => ConsentState::NotGranted,
                    }
                };
                SubjectControls {
                    consent,
                    restricted: refs.iter().flatten().any(|s| restricted.contains(s)),
                    objected: refs.iter().flatten().any(|s| objected.contains(s)),
                }
            })
            .collect())
    }
}

/// The consent state a `dv_consent_state.state` cell stands for; no row means consent was
/// never given.
fn consent_state(cell: Option<Cell>) -> ConsentState {
    match cell {
        Some(Cell::Text(state)) if state == GRANTED => ConsentState::Granted,
        _ => ConsentState::NotGranted,
    }
}

/// Which of `subjects` have an active row (lifted_at IS NULL) in `table`
/// (`dv_restrictions` or `dv_objections`); for objections, one covering `purpose`.
async fn active_subjects(
    conn: &mut Conn<'_>,
    table: &str,
    tenant: Kommunenummer,
    subjects: &[Uuid],
    purpose: Option<&str>,
) -> Result<HashSet<Uuid>> {
    let mut found = HashSet::new();
    for chunk in subjects.chunks(CHUNK) {
        let mut select = Query::select();
        select
            .column(col("subject_id"))
            .from(col(table))
            .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(col("lifted_at")).is_null())
            .and_where(Expr::col(col("subject_id")).is_in(chunk.iter().copied()));
        if let Some(purpose) = purpose {
            select.cond_where(
                Cond::any()
                    .add(Expr::col(col("purpose")).is_null())
                    .add(Expr::col(col("purpose")).eq(purpose)),
            );
        }
        for cells in row::fetch(conn, &select, &[ColumnKind::Uuid]).await? {
            if let Some(Cell::Uuid(id)) = cells.into_iter().next() {
                found.insert(id);
            }
        }
    }
    Ok(found)
}

/// The current consent of each of `subjects` to `purpose` that has one.
async fn consent_states(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    purpose: &str,
    subjects: &[Uuid],
) -> Result<HashMap<Uuid, ConsentState>> {
    let mut states = HashMap::new();
    for chunk in subjects.chunks(CHUNK) {
        let select = Query::select()
            .column(col("subject_id"))
            .column(col("state"))
            .from(col("dv_consent_state"))
            .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(col("purpose")).eq(purpose))
            .and_where(Expr::col(col("subject_id")).is_in(chunk.iter().copied()))
            .to_owned();
        for cells in row::fetch(conn, &select, &[ColumnKind::Uuid, ColumnKind::Text]).await? {
            let mut cells = cells.into_iter();
            if let Some(Cell::Uuid(id)) = cells.next() {
                states.insert(id, consent_state(cells.next()));
            }
        }
    }
    Ok(states)
}

impl super::Records {
    /// Whether `subject` is a record of a `subjects: self` collection in `tenant`: the only
    /// ids that are data subjects.
    pub async fn subject_exists(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        subject: Uuid,
    ) -> Result<bool> {
        let mut tables: Vec<&str> = self
            .inner
            .tables
            .iter()
            .filter(|plan| plan.key_owner() == KeyOwner::Record)
            .map(|plan| plan.table())
            .collect();
        tables.sort_unstable();
        for table in tables {
            let select = Query::select()
                .column(col("id"))
                .from(col(table))
                .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(col("id")).eq(subject))
                .to_owned();
            if !row::fetch(conn, &select, &[ColumnKind::Uuid])
                .await?
                .is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Sets `dv_restricted` on every record of the tenant that concerns one of `subjects`
    /// (as the record itself, primary or secondary subject), one statement per collection;
    /// returns how many records were newly marked.
    pub async fn mark_restricted(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        subjects: &[Uuid],
    ) -> Result<u64> {
        let mut marked = 0;
        for (plan, columns) in self.subject_tables() {
            for chunk in subjects.chunks(CHUNK) {
                let mut any = Cond::any();
                for column in &columns {
                    any = any.add(Expr::col(col(column)).is_in(chunk.iter().copied()));
                }
                let update = Query::update()
                    .table(col(plan.table()))
                    .value(col(RESTRICTED_COLUMN), true)
                    .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                    .and_where(Expr::col(col(RESTRICTED_COLUMN)).eq(false))
                    .cond_where(any)
                    .to_owned();
                marked += conn.execute(&update).await?;
            }
        }
        Ok(marked)
    }

    /// Clears `dv_restricted` on the tenant's records that concern one of `subjects`, except
    /// those that also concern a subject still restricted; returns how many were cleared.
    pub async fn unmark_restricted(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        subjects: &[Uuid],
    ) -> Result<u64> {
        let mut cleared = 0;
        for (plan, columns) in self.subject_tables() {
            let mut still = Cond::any();
            for column in &columns {
                still = still.add(
                    Expr::col((col("dv_restrictions"), col("subject_id")))
                        .equals((col(plan.table()), col(column))),
                );
            }
            let restricted = Query::select()
                .expr(Expr::val(1i64))
                .from(col("dv_restrictions"))
                .and_where(Expr::col((col("dv_restrictions"), col("tenant"))).eq(tenant.as_str()))
                .and_where(Expr::col((col("dv_restrictions"), col("lifted_at"))).is_null())
                .cond_where(still)
                .to_owned();
            for chunk in subjects.chunks(CHUNK) {
                let mut any = Cond::any();
                for column in &columns {
                    any = any.add(Expr::col(col(column)).is_in(chunk.iter().copied()));
                }
                let update = Query::update()
                    .table(col(plan.table()))
                    .value(col(RESTRICTED_COLUMN), false)
                    .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                    .and_where(Expr::col(col(RESTRICTED_COLUMN)).eq(true))
                    .cond_where(any)
                    .and_where(Expr::exists(restricted.clone()).not())
                    .to_owned();
                cleared += conn.execute(&update).await?;
            }
        }
        Ok(cleared)
    }

    /// Every collection whose records concern data subjects, with the columns holding their
    /// ids, in name order.
    pub fn subject_tables(&self) -> Vec<(&Table, Vec<&str>)> {
        let mut tables: Vec<(&Table, Vec<&str>)> = self
            .inner
            .tables
            .iter()
            .map(|plan| (plan, plan.subject_columns()))
            .filter(|(_, columns)| !columns.is_empty())
            .collect();
        tables.sort_unstable_by(|a, b| a.0.name().cmp(b.0.name()));
        tables
    }
}
