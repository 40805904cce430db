//! What the detector reports: a kind, a byte span and a score, never the value itself.

use std::ops::Range;

use crate::id::{ChecksumRule, FnrVariant, IdentifierKind, PhoneVariant};
use crate::taxonomy::{self, Category};

/// One identifier found in a text.
///
/// A finding holds only where the identifier is (`start..end`, byte offsets into the scanned
/// text, always on `char` boundaries) and what it is; callers slice the text themselves if
/// they need the value ([`Finding::text`]). `Debug` therefore never shows personal data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    /// What kind of identifier this is.
    pub kind: IdentifierKind,
    /// The variant, where the kind has them (fødselsnummer variants, mobile or landline).
    pub variant: Option<Variant>,
    /// Byte offset of the first byte of the identifier (including a `+47`, `NO` or `MVA` that
    /// belongs to it).
    pub start: usize,
    /// Byte offset one past the last byte of the identifier.
    pub end: usize,
    /// Confidence in [0, 1] that this span is an identifier of this kind (see
    /// `docs/pii-detection.md` for how it is computed).
    pub score: f32,
    /// Another kind the same digits validate as, when the detector had to choose (every valid
    /// fødselsnummer is also a valid kontonummer).
    pub also_valid_as: Option<IdentifierKind>,
}

/// The variant of a finding, for the kinds that have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// A fødselsnummer-shaped number: which variant, and which rule its first check digit
    /// follows.
    Fnr {
        /// Ordinary, D-, H-, Tenor, Tenor D- or FH-nummer.
        variant: FnrVariant,
        /// Classic or 2032 rule for the first check digit.
        rule: ChecksumRule,
    },
    /// A phone number: mobile, landline or other (service numbers).
    Phone(PhoneVariant),
}

impl Finding {
    /// The byte range of the finding in the scanned text.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The personal-data category of the finding: the identifier kind's category, refined by
    /// the variant where the taxonomy has a finer one (a D-nummer is
    /// `user.national_id.d_nummer`).
    pub fn category(&self) -> &'static Category {
        let refined = match self.variant {
            Some(Variant::Fnr { variant, .. }) => match variant {
                FnrVariant::DNummer | FnrVariant::TenorDNummer => {
                    taxonomy::lookup("user.national_id.d_nummer")
                }
                FnrVariant::HNummer | FnrVariant::FhNummer => {
                    taxonomy::lookup("user.national_id.h_nummer")
                }
                _ => None,
            },
            _ => None,
        };
        refined.unwrap_or_else(|| taxonomy::category_for_identifier(self.kind))
    }

    /// The identifier's text, sliced from the text that was scanned (`None` if `text` is not
    /// the scanned text and the span does not fit it).
    pub fn text<'t>(&self, text: &'t str) -> Option<&'t str> {
        text.get(self.range())
    }
}

impl Variant {
    /// A stable lowercase label: the fødselsnummer variant (`fodselsnummer`, `d-nummer`,
    /// `h-nummer`, `tenor`, `tenor-d-nummer`, `fh-nummer`) or the phone variant (`mobile`,
    /// `landline`, `other`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Variant::Fnr { variant, .. } => variant.as_str(),
            Variant::Phone(variant) => variant.as_str(),
        }
    }

    /// The check-digit rule, for fødselsnummer variants.
    pub fn checksum_rule(&self) -> Option<ChecksumRule> {
        match self {
            Variant::Fnr { rule, .. } => Some(*rule),
            Variant::Phone(_) => None,
        }
    }
}
