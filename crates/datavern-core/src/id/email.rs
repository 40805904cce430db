//! E-mail addresses: a syntactic check of the common `local@domain` form.
//!
//! Accepted: an unquoted local part (RFC 5322 dot-atom, plus non-ASCII letters as RFC 6531
//! allows) and a domain of at least two labels (internationalised labels allowed). Not accepted:
//! quoted local parts, comments, IP address literals, single-label domains. Whether the domain
//! exists or the mailbox receives mail is not checked.

use std::fmt;
use std::str::FromStr;

use super::IdError;
use super::error::EmailError;

/// A syntactically valid e-mail address. Personal data: `Debug` redacts, there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    address: String,
    at: usize,
}

impl EmailAddress {
    /// Checks the address (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let address = input.trim();
        if address.is_empty() {
            return Err(IdError::Empty);
        }
        let at = check(address).map_err(IdError::InvalidEmail)?;
        Ok(EmailAddress {
            address: address.to_owned(),
            at,
        })
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }
}

/// Special characters RFC 5322 allows in an unquoted local part (`atext`), besides letters and
/// digits.
const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

/// Returns the byte index of the `@`.
fn check(address: &str) -> Result<usize, EmailError> {
    if address.len() > 254 {
        return Err(EmailError::TooLong);
    }
    let at = match (address.find('@'), address.rfind('@')) {
        (Some(first), Some(last)) if first == last => first,
        _ => return Err(EmailError::At),
    };
    let (local, domain) = (&address[..at], &address[at + 1..]);
    check_local_part(local)?;
    check_domain(domain)?;
    Ok(at)
}

fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if local.len() > 64 {
        return Err(EmailError::LocalPartTooLong);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalPartDot);
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || c == '.'
            || ATEXT_SPECIALS.contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    };
    if !local.chars().all(allowed) {
        return Err(EmailError::LocalPartCharacter);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(EmailError::EmptyLabel);
        }
        if label.len() > 63 {
            return Err(EmailError::LabelTooLong);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::LabelHyphen);
        }
        let allowed = |c: char| {
            c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
        };
        if !label.chars().all(allowed) {
            return Err(EmailError::DomainCharacter);
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(EmailError::SingleLabelDomain);
    }
    if last.chars().all(|c| c.is_ascii_digit()) {
        return Err(EmailError::NumericTopLevelDomain);
    }
    Ok(())
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(..)")
    }
}

impl FromStr for EmailAddress {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
