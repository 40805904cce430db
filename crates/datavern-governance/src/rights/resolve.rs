//! From what a request names (a fødselsnummer, a subject id) to the person's subject ids.

use datavern_core::catalog::Kommunenummer;
use datavern_core::id::IdentifierKind;
use datavern_core::record::{FieldValue, normalize_lookup};
use datavern_sql::{Tx, TxMode};
use sea_query::{Alias, Expr};
use tracing::instrument;

use super::{Rights, RightsError, SubjectIdentifier};
use crate::error::{Error, Result};
use crate::requests::{ResolveError, ResolveFuture, SubjectResolver};
use datavern_store::SubjectId;
use datavern_store::table::KeyOwner;

impl Rights {
    /// The subject ids of the person `identifier` names in `tenant`.
    ///
    /// A fødselsnummer is looked up by blind index in every `subjects: self` collection with
    /// a searchable `fnr` field (one query per collection; candidates sharing the truncated
    /// index are decrypted and compared, so false positives are dropped): one person may have
    /// several subject ids (a resident's record and an employee's record). A subject id is
    /// checked to name a record of a person collection in the tenant. Nothing found is
    /// [`RightsError::SubjectNotFound`].
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn resolve(
        &self,
        tenant: Kommunenummer,
        identifier: &SubjectIdentifier,
    ) -> Result<Vec<SubjectId>> {
        let records = &self.records;
        let catalog = records.catalog().clone();
        let mut found = Vec::new();
        let mut tx = Tx::begin(records.store().data(), tenant, TxMode::Read).await?;
        for table in records.tables() {
            if table.key_owner() != KeyOwner::Record {
                continue;
            }
            let Some(collection) = catalog.collection(table.name()) else {
                continue;
            };
            match identifier {
                SubjectIdentifier::SubjectId(id) => {
                    let rows = records
                        .raw_rows(
                            &mut tx.conn(),
                            tenant,
                            table.name(),
                            Expr::col(Alias::new("id")).eq(*id),
                            false,
                        )
                        .await?;
                    found.extend(rows.iter().map(|row| SubjectId::from_uuid(row.id)));
                }
                SubjectIdentifier::NationalId(fnr) => {
                    for (position, field) in table.fields.iter().enumerate() {
                        let Some(index_column) = &field.blind_index else {
                            continue;
                        };
                        let is_fnr = collection
                            .field(&field.name)
                            .is_some_and(|f| f.identifier() == Some(IdentifierKind::Fnr));
                        if !is_fnr {
                            continue;
                        }
                        let Ok(form) = normalize_lookup(collection, &field.name, fnr.as_str())
                        else {
                            continue;
                        };
                        let index = records
                            .blind_index(tenant, table.name(), &field.name, &form)
                            .await?;
                        let candidates = records
                            .raw_rows(
                                &mut tx.conn(),
                                tenant,
                                table.name(),
                                Expr::col(Alias::new(index_column.as_str())).eq(index),
                                false,
                            )
                            .await?;
                        let owners: Vec<_> = candidates.iter().map(|row| row.id).collect();
                        records.preload_keys(tenant, &owners).await?;
                        for row in &candidates {
                            let values = records
                                .decrypt(tenant, table.name(), row, |p| p == position)
                                .await?;
                            let matches = values.iter().any(|(_, value)| {
                                let catalog_field = collection.field(&field.name);
                                match (value, catalog_field) {
                                    (FieldValue::Null, _) | (_, None) => false,
                                    (value, Some(f)) => {
                                        value.index_form(f).as_deref() == Some(form.as_str())
                                    }
                                }
                            });
                            if matches {
                                found.push(SubjectId::from_uuid(row.id));
                            }
                        }
                    }
                }
            }
        }
        tx.commit().await?;
        found.sort_unstable();
        found.dedup();
        if found.is_empty() {
            return Err(RightsError::SubjectNotFound {
                tenant: tenant.to_string(),
            }
            .into());
        }
        Ok(found)
    }
}

/// The request register finds the person a request names through the catalog's identifying
/// fields: nobody found is an empty list, which the register refuses as an unknown subject.
impl SubjectResolver for Rights {
    fn resolve<'a>(
        &'a self,
        tenant: Kommunenummer,
        identifier: &'a SubjectIdentifier,
    ) -> ResolveFuture<'a> {
        Box::pin(async move {
            match Rights::resolve(self, tenant, identifier).await {
                Ok(found) => Ok(found),
                Err(Error::Rights(RightsError::SubjectNotFound { .. })) => Ok(Vec::new()),
                Err(err) => Err(ResolveError::Store(err)),
            }
        })
    }
}
