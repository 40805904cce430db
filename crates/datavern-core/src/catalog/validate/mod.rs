//! Raw catalog → validated [`Catalog`]: every semantic rule, each problem placed by path.
//!
//! Validation goes on past problems so one run reports them all: each part is validated as
//! far as it can be, and a rule that needs a part that failed is skipped rather than
//! reporting a follow-on problem.

mod collection;
mod field;

use std::collections::{HashMap, HashSet};

use crate::classification::Classification;
use crate::residency::{DataClass, Location, ResidencyPolicy, ResidencyRule, Scope};
use crate::taxonomy;

use super::error::ErrorCode;
use super::legal::{LawfulBasis, RestrictionGround, SpecialCategoryCondition};
use super::model::{Catalog, Collection, Deployment, Purpose, StorageKind, StorageTarget, Tenant};
use super::names::{Kommunenummer, PurposeId, StorageName};
use super::path::Path;
use super::raw::{
    RawCatalog, RawConsentRules, RawDeployment, RawPurpose, RawResidencyRule, RawStorage,
};
use super::read::{Item, Problems, Slot};
use super::suggest::{did_you_mean, did_you_mean_or};

/// The catalog format versions this build reads.
pub const SUPPORTED_VERSION: u32 = 1;

const CLASSIFICATIONS: &str = "ÅPEN, BEGRENSET, KONFIDENSIELT, HEMMELIG or STRENGT HEMMELIG";

/// What validation of one part needs to know about the others.
struct Context<'a> {
    problems: &'a mut Problems,
    /// Every purpose id declared, valid or not (so a purpose with a bad lawful basis is not
    /// also reported as unknown wherever it is used).
    declared_purposes: Vec<String>,
    /// The purposes that validated.
    purposes: HashMap<String, Purpose>,
    /// Every collection name declared, with whether its records are persons (`subjects:
    /// self`), when that is known.
    collections: Vec<(String, Option<bool>)>,
    accreditation: Option<Classification>,
}

impl Context<'_> {
    fn push(&mut self, path: &Path, code: ErrorCode, message: impl Into<String>) {
        self.problems.push(path, code, message);
    }

    /// The value of a required key, reporting it when absent.
    fn required<'s, T>(&mut self, slot: &'s Slot<T>, path: &Path, hint: &str) -> Option<&'s T> {
        if slot.is_absent() {
            self.push(path, ErrorCode::Missing, format!("missing: {hint}"));
        }
        slot.get()
    }

    /// A required, non-empty string.
    fn required_text(&mut self, slot: &Slot<String>, path: &Path, hint: &str) -> Option<String> {
        let text = self.required(slot, path, hint)?.trim().to_owned();
        if text.is_empty() {
            self.push(path, ErrorCode::Missing, format!("empty: {hint}"));
            return None;
        }
        Some(text)
    }

    /// An optional string; an empty one is reported (write nothing instead).
    fn optional_text(&mut self, slot: &Slot<String>, path: &Path) -> Option<String> {
        let text = slot.get()?.trim().to_owned();
        if text.is_empty() {
            self.push(
                path,
                ErrorCode::Missing,
                "empty: give a value or remove the key",
            );
            return None;
        }
        Some(text)
    }

    fn classification(&mut self, text: &str, path: &Path) -> Option<Classification> {
        match text.parse::<Classification>() {
            Ok(level) => Some(level),
            Err(_) => {
                let names = Classification::ALL.map(Classification::as_str);
                let hint = did_you_mean(&text.to_uppercase(), names);
                self.push(
                    path,
                    ErrorCode::InvalidValue,
                    format!("unknown classification \"{text}\"{hint} (expected {CLASSIFICATIONS})"),
                );
                None
            }
        }
    }

    /// Reports `level` if the deployment is not accredited for it.
    fn check_accreditation(&mut self, level: Classification, path: &Path) {
        if let Some(accreditation) = self.accreditation.filter(|a| level > *a) {
            self.push(
                path,
                ErrorCode::AboveAccreditation,
                format!(
                    "{level} is above the deployment's accreditation ({accreditation}): data \
                     classified {level} cannot be stored here; lower the classification or \
                     accredit the deployment for {level}"
                ),
            );
        }
    }

    /// Checks a list of purpose references against the declared purposes.
    fn purpose_refs(&mut self, items: &[Item<String>]) -> Vec<PurposeId> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for item in items {
            let id = item.value.trim();
            if !self.declared_purposes.iter().any(|p| p == id) {
                let hint = did_you_mean_or(
                    id,
                    self.declared_purposes.iter().map(String::as_str),
                    "declare it under `purposes`",
                );
                self.push(
                    &item.path,
                    ErrorCode::UnknownPurpose,
                    format!("unknown purpose \"{id}\"{hint}"),
                );
                continue;
            }
            if !seen.insert(id.to_owned()) {
                self.push(
                    &item.path,
                    ErrorCode::Duplicate,
                    format!("purpose \"{id}\" is listed twice"),
                );
                continue;
            }
            if let Ok(id) = PurposeId::parse(id) {
                ids.push(id);
            }
        }
        ids
    }
}

/// Validates a raw catalog. `None` when any problem was found (all of them are in
/// `problems`).
pub(super) fn validate(raw: &RawCatalog, problems: &mut Problems) -> Option<Catalog> {
    let version_path = raw.path.key("version");
    let version = match raw.version.get() {
        None => {
            if raw.version.is_absent() {
                problems.push(
                    &version_path,
                    ErrorCode::Missing,
                    format!("missing: write `version: {SUPPORTED_VERSION}` at the top"),
                );
            }
            None
        }
        Some(text) => match text.trim().parse::<u32>() {
            Ok(SUPPORTED_VERSION) => Some(SUPPORTED_VERSION),
            _ => {
                // A catalog in another format would only produce noise below.
                problems.push(
                    &version_path,
                    ErrorCode::UnsupportedVersion,
                    format!(
                        "unsupported catalog version \"{text}\": this datavern reads version \
                         {SUPPORTED_VERSION}"
                    ),
                );
                return None;
            }
        },
    };

    let mut cx = Context {
        problems,
        declared_purposes: Vec::new(),
        purposes: HashMap::new(),
        collections: Vec::new(),
        accreditation: None,
    };

    // Purposes first: collections and fields refer to them.
    let purposes = validate_purposes(&mut cx, raw);

    // Collection names next, so subject references and storage scopes can be checked
    // whatever the order of declaration.
    let raw_collections = match &raw.collections {
        Slot::Present(collections) if collections.is_empty() => {
            cx.push(
                &raw.path.key("collections"),
                ErrorCode::Missing,
                "empty: declare at least one collection",
            );
            &[][..]
        }
        Slot::Present(collections) => collections.as_slice(),
        Slot::Absent => {
            cx.push(
                &raw.path.key("collections"),
                ErrorCode::Missing,
                "missing: declare the collections",
            );
            &[][..]
        }
        Slot::Invalid => &[][..],
    };
    cx.collections = collection::declared_names(raw_collections);

    let deployment = match &raw.deployment {
        Slot::Present(deployment) => validate_deployment(&mut cx, deployment),
        Slot::Absent => {
            cx.push(
                &raw.path.key("deployment"),
                ErrorCode::Missing,
                "missing: declare the deployment (tenants, accreditation, storage)",
            );
            None
        }
        Slot::Invalid => None,
    };
    cx.accreditation = deployment.as_ref().map(|d| d.accreditation);

    let mut collections = Vec::new();
    let mut seen = HashSet::new();
    for raw_collection in raw_collections {
        if let Some(collection) =
            collection::validate_collection(&mut cx, raw_collection, raw_collections)
            && seen.insert(collection.name.as_str().to_owned())
        {
            collections.push(collection);
        }
    }

    if let Some(deployment) = &deployment {
        check_residency(&mut cx, deployment, &collections, raw);
    }

    let catalog = Catalog {
        version: version?,
        deployment: deployment?,
        purposes: purposes?,
        collections,
        source: std::sync::Arc::from(""),
    };
    cx.problems.is_empty().then_some(catalog)
}

fn validate_purposes(cx: &mut Context<'_>, raw: &RawCatalog) -> Option<Vec<Purpose>> {
    let path = raw.path.key("purposes");
    let raw_purposes = match &raw.purposes {
        Slot::Present(purposes) => purposes,
        Slot::Absent => {
            cx.push(
                &path,
                ErrorCode::Missing,
                "missing: declare the purposes of processing",
            );
            return None;
        }
        Slot::Invalid => return None,
    };
    if raw_purposes.is_empty() {
        cx.push(
            &path,
            ErrorCode::Missing,
            "empty: declare at least one purpose of processing",
        );
        return None;
    }
    cx.declared_purposes = raw_purposes
        .iter()
        .filter_map(|p| p.id.get())
        .map(|id| id.trim().to_owned())
        .collect();

    let mut purposes = Vec::new();
    let mut seen = HashSet::new();
    for raw_purpose in raw_purposes {
        let Some(purpose) = validate_purpose(cx, raw_purpose) else {
            continue;
        };
        if !seen.insert(purpose.id.as_str().to_owned()) {
            cx.push(
                &raw_purpose.path.key("id"),
                ErrorCode::Duplicate,
                format!(
                    "duplicate purpose id \"{}\"; purpose ids must be unique",
                    purpose.id
                ),
            );
            continue;
        }
        cx.purposes
            .insert(purpose.id.as_str().to_owned(), purpose.clone());
        purposes.push(purpose);
    }
    (purposes.len() == raw_purposes.len()).then_some(purposes)
}

fn validate_purpose(cx: &mut Context<'_>, raw: &RawPurpose) -> Option<Purpose> {
    let at = |key: &str| raw.path.key(key);
    let id = cx
        .required_text(
            &raw.id,
            &at("id"),
            "give the purpose an id, e.g. `barnehageopptak`",
        )
        .and_then(|id| match PurposeId::parse(&id) {
            Ok(id) => Some(id),
            Err(err) => {
                cx.push(&at("id"), ErrorCode::InvalidName, err.to_string());
                None
            }
        });
    let description = cx.required_text(
        &raw.description,
        &at("description"),
        "describe the purpose (shown in access requests and the Art. 30 record)",
    );
    let lawful_basis = cx
        .required_text(
            &raw.lawful_basis,
            &at("lawful_basis"),
            "give the Art. 6(1) basis, e.g. 6(1)(e)",
        )
        .and_then(|text| match text.parse::<LawfulBasis>() {
            Ok(basis) => Some(basis),
            Err(err) => {
                cx.push(
                    &at("lawful_basis"),
                    ErrorCode::InvalidValue,
                    err.to_string(),
                );
                None
            }
        });
    let legal_reference = cx.optional_text(&raw.legal_reference, &at("legal_reference"));
    let condition = cx
        .optional_text(
            &raw.special_category_condition,
            &at("special_category_condition"),
        )
        .and_then(|text| match text.parse::<SpecialCategoryCondition>() {
            Ok(condition) => Some(condition),
            Err(err) => {
                cx.push(
                    &at("special_category_condition"),
                    ErrorCode::InvalidValue,
                    err.to_string(),
                );
                None
            }
        });
    let criminal_data_basis =
        cx.optional_text(&raw.criminal_data_basis, &at("criminal_data_basis"));
    let restriction = cx
        .optional_text(
            &raw.allowed_under_restriction,
            &at("allowed_under_restriction"),
        )
        .and_then(|text| match text.parse::<RestrictionGround>() {
            Ok(ground) => Some(ground),
            Err(err) => {
                cx.push(
                    &at("allowed_under_restriction"),
                    ErrorCode::InvalidValue,
                    err.to_string(),
                );
                None
            }
        });
    let recipients = match raw.recipients.get() {
        Some(items) => items
            .iter()
            .filter_map(|item| {
                let text = item.value.trim();
                if text.is_empty() {
                    cx.push(
                        &item.path,
                        ErrorCode::Missing,
                        "empty: name the recipient or remove the item",
                    );
                    None
                } else {
                    Some(text.to_owned())
                }
            })
            .collect(),
        None => Vec::new(),
    };

    let consent_recorder_role = match (&raw.consent, lawful_basis) {
        (Slot::Present(rules), Some(basis)) => consent_rules(cx, rules, basis, condition),
        (Slot::Present(_), None) | (Slot::Invalid, _) => Err(()),
        (Slot::Absent, _) => Ok(None),
    };

    if legal_reference.is_none() && raw.legal_reference.is_absent() {
        if let Some(basis) = lawful_basis.filter(|b| b.needs_basis_in_law()) {
            cx.push(
                &at("legal_reference"),
                ErrorCode::LegalReference,
                format!(
                    "missing: lawful basis {basis} ({}) must be laid down in law (GDPR Art. \
                     6(3)); name the provision, e.g. \"barnehageloven § 17\"",
                    basis.name()
                ),
            );
        } else if let Some(condition) = condition.filter(|c| c.needs_basis_in_law()) {
            cx.push(
                &at("legal_reference"),
                ErrorCode::LegalReference,
                format!(
                    "missing: condition {condition} ({}) needs a basis in Norwegian law; name \
                     the provision, e.g. \"helse- og omsorgstjenesteloven § 3-1\"",
                    condition.name()
                ),
            );
        }
    }

    Some(Purpose {
        id: id?,
        description: description?,
        lawful_basis: lawful_basis?,
        legal_reference,
        special_category_condition: condition,
        criminal_data_basis,
        secure_identification: raw.secure_identification.get().copied().unwrap_or(false),
        recipients,
        allowed_under_restriction: restriction,
        consent_recorder_role: consent_recorder_role.ok()?,
    })
}

/// `consent: { recorder_role: … }`: only for purposes that rest on consent; the role must be
/// a valid role name. `Err` once reported.
fn consent_rules(
    cx: &mut Context<'_>,
    raw: &RawConsentRules,
    basis: LawfulBasis,
    condition: Option<SpecialCategoryCondition>,
) -> Result<Option<crate::access::Role>, ()> {
    if !basis.is_consent() && !condition.is_some_and(SpecialCategoryCondition::is_consent) {
        cx.push(
            &raw.path,
            ErrorCode::Consent,
            format!(
                "consent rules apply only to purposes that rest on consent (6(1)(a) or 9(2)(a)), \
                 not {basis} ({}); remove `consent`",
                basis.name()
            ),
        );
        return Err(());
    }
    let path = raw.path.key("recorder_role");
    let Some(text) = cx.optional_text(&raw.recorder_role, &path) else {
        return if raw.recorder_role.is_absent() {
            Ok(None)
        } else {
            Err(())
        };
    };
    match crate::access::Role::parse(text.trim()) {
        Ok(role) => Ok(Some(role)),
        Err(err) => {
            cx.push(
                &path,
                ErrorCode::InvalidName,
                format!(
                    "{err}; name the role principals need to record a grant, e.g. consent_recorder"
                ),
            );
            Err(())
        }
    }
}

fn validate_deployment(cx: &mut Context<'_>, raw: &RawDeployment) -> Option<Deployment> {
    let at = |key: &str| raw.path.key(key);
    let name = cx.optional_text(&raw.name, &at("name"));

    let mut tenants = Vec::new();
    let mut tenants_ok = true;
    match cx.required(
        &raw.tenants,
        &at("tenants"),
        "list the tenants (kommunenummer and name)",
    ) {
        Some(list) if list.is_empty() => {
            cx.push(
                &at("tenants"),
                ErrorCode::Missing,
                "empty: list at least one tenant",
            );
            tenants_ok = false;
        }
        Some(list) => {
            for tenant in list {
                let number = cx
                    .required_text(
                        &tenant.kommunenummer,
                        &tenant.path.key("kommunenummer"),
                        "give the kommunenummer, e.g. \"4601\"",
                    )
                    .and_then(|text| match Kommunenummer::parse(&text) {
                        Ok(number) => Some(number),
                        Err(err) => {
                            cx.push(
                                &tenant.path.key("kommunenummer"),
                                ErrorCode::InvalidKommunenummer,
                                err.to_string(),
                            );
                            None
                        }
                    });
                let tenant_name = cx.required_text(
                    &tenant.name,
                    &tenant.path.key("name"),
                    "give the municipality's name",
                );
                match (number, tenant_name) {
                    (Some(kommunenummer), Some(name)) => {
                        if tenants
                            .iter()
                            .any(|t: &Tenant| t.kommunenummer == kommunenummer)
                        {
                            cx.push(
                                &tenant.path.key("kommunenummer"),
                                ErrorCode::Duplicate,
                                format!("duplicate tenant {kommunenummer}; each municipality is listed once"),
                            );
                            tenants_ok = false;
                        } else {
                            tenants.push(Tenant {
                                kommunenummer,
                                name,
                            });
                        }
                    }
                    _ => tenants_ok = false,
                }
            }
        }
        None => tenants_ok = false,
    }

    let accreditation = cx
        .required_text(
            &raw.accreditation,
            &at("accreditation"),
            &format!("give the highest classification the deployment is accredited for ({CLASSIFICATIONS})"),
        )
        .and_then(|text| cx.classification(&text, &at("accreditation")));

    let storage = validate_storage(cx, raw);
    let residency = validate_residency_rules(cx, raw);

    if !tenants_ok {
        return None;
    }
    Some(Deployment {
        name,
        tenants,
        accreditation: accreditation?,
        storage: storage?,
        residency: residency?,
        masked: raw.masked.get().copied().unwrap_or(false),
    })
}

fn validate_storage(cx: &mut Context<'_>, raw: &RawDeployment) -> Option<Vec<StorageTarget>> {
    let path = raw.path.key("storage");
    let hint = "list where data is kept: each database, cache, backup target, event sink and key \
                store with its location";
    let list = cx.required(&raw.storage, &path, hint)?;
    if list.is_empty() {
        cx.push(&path, ErrorCode::Missing, format!("empty: {hint}"));
        return None;
    }
    let mut targets = Vec::new();
    let mut all_ok = true;
    for raw_target in list {
        match validate_storage_target(cx, raw_target) {
            Some(target)
                if targets
                    .iter()
                    .any(|t: &StorageTarget| t.name == target.name) =>
            {
                cx.push(
                    &raw_target.path.key("name"),
                    ErrorCode::Duplicate,
                    format!("duplicate storage name \"{}\"", target.name),
                );
                all_ok = false;
            }
            Some(target) => targets.push(target),
            None => all_ok = false,
        }
    }
    if all_ok && !targets.iter().any(|t| t.kind == StorageKind::Database) {
        cx.push(
            &path,
            ErrorCode::Missing,
            "no storage target of kind `database`: declare where records are stored",
        );
        return None;
    }
    all_ok.then_some(targets)
}

fn validate_storage_target(cx: &mut Context<'_>, raw: &RawStorage) -> Option<StorageTarget> {
    let at = |key: &str| raw.path.key(key);
    let name = cx
        .required_text(
            &raw.name,
            &at("name"),
            "name the storage target, e.g. `primary`",
        )
        .and_then(|text| match StorageName::parse(&text) {
            Ok(name) => Some(name),
            Err(err) => {
                cx.push(&at("name"), ErrorCode::InvalidName, err.to_string());
                None
            }
        });
    let kinds = StorageKind::ALL.map(StorageKind::as_str);
    let kind = cx
        .required_text(
            &raw.kind,
            &at("kind"),
            &format!("give the kind ({})", kinds.join(", ")),
        )
        .and_then(|text| match text.parse::<StorageKind>() {
            Ok(kind) => Some(kind),
            Err(()) => {
                let hint = did_you_mean(&text, kinds);
                cx.push(
                    &at("kind"),
                    ErrorCode::InvalidValue,
                    format!(
                        "unknown storage kind \"{text}\"{hint} (expected {})",
                        kinds.join(", ")
                    ),
                );
                None
            }
        });
    let location = cx
        .required_text(
            &raw.location,
            &at("location"),
            "give the location (no, eea, adequate or third)",
        )
        .and_then(|text| parse_location(cx, &text, &at("location")));
    let collections = raw.collections.get().map(|items| {
        items
            .iter()
            .filter_map(|item| collection::collection_ref(cx, &item.value, &item.path))
            .collect::<Vec<_>>()
    });
    let description = cx.optional_text(&raw.description, &at("description"));
    if let (Some(items), Some(resolved)) = (raw.collections.get(), &collections)
        && items.len() != resolved.len()
    {
        return None;
    }
    Some(StorageTarget {
        name: name?,
        kind: kind?,
        location: location?,
        collections,
        description,
    })
}

fn parse_location(cx: &mut Context<'_>, text: &str, path: &Path) -> Option<Location> {
    match text.parse::<Location>() {
        Ok(location) => Some(location),
        Err(err) => {
            let hint = did_you_mean(text, Location::ALL.map(Location::as_str));
            let message = err.to_string();
            cx.push(path, ErrorCode::InvalidValue, format!("{message}{hint}"));
            None
        }
    }
}

fn validate_residency_rules(cx: &mut Context<'_>, raw: &RawDeployment) -> Option<ResidencyPolicy> {
    let Some(list) = raw.residency.get() else {
        return (!matches!(raw.residency, Slot::Invalid)).then(ResidencyPolicy::builtin);
    };
    let mut rules = Vec::new();
    for rule in list {
        if let Some(rule) = validate_residency_rule(cx, rule) {
            rules.push(rule);
        }
    }
    (rules.len() == list.len()).then(|| ResidencyPolicy::with_rules(rules))
}

fn validate_residency_rule(cx: &mut Context<'_>, raw: &RawResidencyRule) -> Option<ResidencyRule> {
    let at = |key: &str| raw.path.key(key);
    let scope = match (raw.classification.get(), raw.category.get()) {
        (Some(_), Some(_)) => {
            cx.push(
                &raw.path,
                ErrorCode::InvalidValue,
                "a rule applies to a classification or a category, not both: split it in two",
            );
            None
        }
        (Some(text), None) => cx
            .classification(text.trim(), &at("classification"))
            .map(Scope::ClassifiedAtLeast),
        (None, Some(text)) => match taxonomy::parse(text) {
            Ok(category) => Some(Scope::Category(category)),
            Err(err) => {
                cx.push(&at("category"), ErrorCode::UnknownCategory, err.to_string());
                None
            }
        },
        (None, None) => {
            if raw.classification.is_absent() && raw.category.is_absent() {
                cx.push(
                    &raw.path,
                    ErrorCode::Missing,
                    "missing: say what the rule applies to, with `classification` (that level \
                     and above) or `category` (that category and its children)",
                );
            }
            None
        }
    };
    let within = cx
        .required_text(
            &raw.within,
            &at("within"),
            "give the farthest allowed location (no, eea, adequate)",
        )
        .and_then(|text| parse_location(cx, &text, &at("within")));
    Some(ResidencyRule::new(scope?, within?))
}

/// Every storage target must be allowed to hold every collection it holds.
fn check_residency(
    cx: &mut Context<'_>,
    deployment: &Deployment,
    collections: &[Collection],
    raw: &RawCatalog,
) {
    let Some(raw_storage) = raw.deployment.get().and_then(|d| d.storage.get()) else {
        return;
    };
    for (target, raw_target) in deployment.storage.iter().zip(raw_storage) {
        for collection in collections.iter().filter(|c| target.holds(c.name.as_str())) {
            let Some((within, rule, what)) = strictest_limit(&deployment.residency, collection)
            else {
                continue;
            };
            if target.location.is_within(within) {
                continue;
            }
            cx.push(
                &raw_target.path.key("location"),
                ErrorCode::Residency,
                format!(
                    "{kind} `{name}` is in `{location}`, but collection `{collection}` must stay \
                     within `{within}`: {what} (rule: {rule}); move the target or limit it with \
                     `collections:`",
                    kind = target.kind.as_str().replace('_', " "),
                    name = target.name,
                    location = target.location,
                    collection = collection.name,
                ),
            );
        }
    }
}

/// The strictest residency limit over a collection's records and fields, with the rule and a
/// description of what set it.
pub(super) fn strictest_limit(
    policy: &ResidencyPolicy,
    collection: &Collection,
) -> Option<(Location, ResidencyRule, String)> {
    // The record itself: its classification, and (when it has data subjects) the fact that
    // its ids point at persons.
    let record_category = if collection.has_data_subjects() {
        &taxonomy::PSEUDONYMOUS_ID
    } else {
        &taxonomy::OPERATIONS
    };
    let record = DataClass {
        classification: collection.classification,
        category: record_category,
    };
    let mut best: Option<(Location, ResidencyRule, String)> =
        policy.limit(record).rule.map(|rule| {
            (
                rule.within(),
                rule.clone(),
                format!("its records are {}", collection.classification),
            )
        });
    for field in &collection.fields {
        let data = field.data_class();
        let limit = policy.limit(data);
        let Some(rule) = limit.rule else { continue };
        if best
            .as_ref()
            .is_none_or(|(within, _, _)| limit.within < *within)
        {
            let what = format!(
                "field `{}` is {} {}",
                field.name,
                field.classification,
                data.category.as_str()
            );
            best = Some((limit.within, rule.clone(), what));
        }
    }
    best
}
