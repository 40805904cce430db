//! Who is asking: the principal the server builds from an API key or a token.

use std::fmt;

use crate::catalog::{Kommunenummer, PurposeId};
use crate::classification::Classification;
use crate::id::Fodselsnummer;

/// The longest principal id or role, in bytes.
pub const MAX_PRINCIPAL_ID_LEN: usize = 256;

/// The caller of an operation: an application (API key, Maskinporten client) or a person
/// (OIDC token), with the tenant it acts for, its roles, its security clearance and the
/// purposes of processing it may invoke.
///
/// Built by the server after authentication; everything in it is typed and holds no personal
/// data beyond a pseudonymous id, so `Debug` is safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    id: PrincipalId,
    tenant: Kommunenummer,
    roles: Vec<Role>,
    clearance: Classification,
    purposes: Vec<PurposeId>,
}

/// A principal's stable id as audit entries name it: an API key's id, a token's `sub` or
/// client id. Never a national id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalId(String);

/// A role granted to a principal (from configuration or a token's `roles` claim), e.g.
/// `saksbehandler`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role(String);

/// Why a text is not a valid [`PrincipalId`] or [`Role`]. Messages never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPrincipal {
    /// Empty or only whitespace.
    #[error("{what} is empty")]
    Empty {
        /// `principal id` or `role`.
        what: &'static str,
    },
    /// Longer than [`MAX_PRINCIPAL_ID_LEN`] bytes.
    #[error("{what} is longer than {MAX_PRINCIPAL_ID_LEN} bytes")]
    TooLong {
        /// `principal id` or `role`.
        what: &'static str,
    },
    /// Contains whitespace or a control character.
    #[error("{what} contains whitespace or a control character")]
    Character {
        /// `principal id` or `role`.
        what: &'static str,
    },
    /// A principal id that is a fødselsnummer (ID-porten's `pid` claim, say): it would put a
    /// national id into every audit entry.
    #[error(
        "principal id is a fødselsnummer: use a pseudonymous id (the token's pairwise `sub`), \
         not the national id"
    )]
    NationalId,
}

impl Principal {
    /// A principal with a clearance, no roles and no purposes (add them with
    /// [`with_purposes`](Self::with_purposes) and [`with_roles`](Self::with_roles)).
    pub fn new(id: PrincipalId, tenant: Kommunenummer, clearance: Classification) -> Self {
        Principal {
            id,
            tenant,
            roles: Vec::new(),
            clearance,
            purposes: Vec::new(),
        }
    }

    /// Adds purposes the principal may invoke.
    pub fn with_purposes(mut self, purposes: impl IntoIterator<Item = PurposeId>) -> Self {
        for purpose in purposes {
            if !self.purposes.contains(&purpose) {
                self.purposes.push(purpose);
            }
        }
        self
    }

    /// Adds roles.
    pub fn with_roles(mut self, roles: impl IntoIterator<Item = Role>) -> Self {
        for role in roles {
            if !self.roles.contains(&role) {
                self.roles.push(role);
            }
        }
        self
    }

    /// The principal's id.
    pub fn id(&self) -> &PrincipalId {
        &self.id
    }

    /// The tenant (municipality) the principal acts for.
    pub fn tenant(&self) -> Kommunenummer {
        self.tenant
    }

    /// The principal's roles.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Whether the principal has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.0 == role)
    }

    /// The highest classification the principal may see.
    pub fn clearance(&self) -> Classification {
        self.clearance
    }

    /// The purposes the principal may invoke.
    pub fn purposes(&self) -> &[PurposeId] {
        &self.purposes
    }

    /// Whether the principal may invoke `purpose`.
    pub fn may_use(&self, purpose: &str) -> bool {
        self.purposes.iter().any(|p| p == purpose)
    }
}

impl PrincipalId {
    /// Checks an id: 1 to [`MAX_PRINCIPAL_ID_LEN`] bytes, no whitespace or control
    /// characters, and not a fødselsnummer.
    pub fn parse(id: &str) -> Result<Self, InvalidPrincipal> {
        check("principal id", id)?;
        if Fodselsnummer::parse(id).is_ok() {
            return Err(InvalidPrincipal::NationalId);
        }
        Ok(PrincipalId(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Role {
    /// Checks a role: 1 to [`MAX_PRINCIPAL_ID_LEN`] bytes, no whitespace or control
    /// characters.
    pub fn parse(role: &str) -> Result<Self, InvalidPrincipal> {
        check("role", role).map(|()| Role(role.to_owned()))
    }

    /// The role.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(what: &'static str, text: &str) -> Result<(), InvalidPrincipal> {
    if text.trim().is_empty() {
        return Err(InvalidPrincipal::Empty { what });
    }
    if text.len() > MAX_PRINCIPAL_ID_LEN {
        return Err(InvalidPrincipal::TooLong { what });
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidPrincipal::Character { what });
    }
    Ok(())
}

impl fmt::Debug for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrincipalId({:?})", self.0)
    }
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Role({:?})", self.0)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
