//! The number recognizers: which identifiers a sequence of digit groups can be, with the base
//! score its checksums and formatting earn before context is considered.
//!
//! Every candidate is validated with the allocation-free validators of [`crate::id`]; a
//! sequence that validates as nothing yields no hypothesis.

use crate::id::{
    ChecksumRule, DufNummer, FnrVariant, Fodselsnummer, Iban, IdentifierKind, Kontonummer,
    Organisasjonsnummer, PhoneNumber, PhoneVariant, Postnummer,
};

use super::finding::Variant;
use super::scanner::{Group, Join, char_at, char_before, is_glue};

/// Base scores: the confidence a checksum-valid, context-free, unformatted number earns.
/// `docs/pii-detection.md` explains each; keep the two in step.
pub(crate) mod base {
    /// Fødselsnummer (or D-, H-, Tenor number) with a date and a classic first check digit:
    /// two check digits and a date make a random match rare (about 1 in 500).
    pub(crate) const FNR_CLASSIC: f32 = 0.70;
    /// Fødselsnummer whose first check digit holds only under the 2032 rule: a random
    /// kontonummer with a date-like start passes it three times as often as the classic
    /// rule, and no such number has been issued yet.
    pub(crate) const FNR_2032: f32 = 0.50;
    /// FH-nummer (first digit 8 or 9, no date): only the two check digits speak for it.
    pub(crate) const FH_CLASSIC: f32 = 0.45;
    /// FH-nummer under the 2032 rule.
    pub(crate) const FH_2032: f32 = 0.40;
    /// Kontonummer: one mod-11 check digit (one random 11-digit number in 11 passes).
    pub(crate) const KONTONR: f32 = 0.55;
    /// Organisasjonsnummer: one mod-11 check digit.
    pub(crate) const ORGNR: f32 = 0.55;
    /// MVA-nummer with `NO` and `MVA` around a valid organisasjonsnummer.
    pub(crate) const MVA: f32 = 0.95;
    /// A valid organisasjonsnummer followed by `MVA` but without `NO`.
    pub(crate) const MVA_WITHOUT_NO: f32 = 0.85;
    /// IBAN: mod 97 and the kontonummer's own check digit, behind `NO`.
    pub(crate) const IBAN: f32 = 0.95;
    /// DUF-nummer with a plausible year (1980–2039) and valid check number.
    pub(crate) const DUF: f32 = 0.60;
    /// DUF-nummer with an implausible year.
    pub(crate) const DUF_ODD_YEAR: f32 = 0.35;
    /// Mobile number (4xx, 9xx), bare.
    pub(crate) const MOBILE: f32 = 0.50;
    /// Landline number (2, 3, 5, 6, 7), bare: too many other 8-digit numbers look like one.
    pub(crate) const LANDLINE: f32 = 0.40;
    /// Service number (8xx), bare.
    pub(crate) const PHONE_OTHER: f32 = 0.30;
    /// Postnummer, bare: four digits are everywhere (years, amounts), so context must carry it.
    pub(crate) const POSTNUMMER: f32 = 0.30;
    /// E-mail address: its shape alone is strong evidence.
    pub(crate) const EMAIL: f32 = 0.90;
}

/// Score changes for how a number is written.
pub(crate) mod format {
    /// `151086 95088`: the way a fødselsnummer is printed.
    pub(crate) const FNR_GROUPED: f32 = 0.15;
    /// `8601.11.17947` or `8601 11 17947`: the way a kontonummer is printed.
    pub(crate) const KONTONR_GROUPED: f32 = 0.30;
    /// A fødselsnummer written like a kontonummer, or the reverse.
    pub(crate) const WRONG_GROUPING: f32 = -0.30;
    /// `988 077 917`.
    pub(crate) const ORGNR_GROUPED: f32 = 0.15;
    /// `912 34 567`, `22 33 44 55`, `9123 4567`.
    pub(crate) const PHONE_GROUPED: f32 = 0.20;
    /// `+47` or `0047` in front.
    pub(crate) const PHONE_COUNTRY_CODE: f32 = 0.35;
    /// `2012 123456 03`, `2012 1234 5603`.
    pub(crate) const DUF_GROUPED: f32 = 0.15;
    /// `, 0150 Oslo`: a postnummer followed by a capitalised place name.
    pub(crate) const POSTNUMMER_ADDRESS: f32 = 0.25;
}

/// One reading of a candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hypothesis {
    /// The kind.
    pub(crate) kind: IdentifierKind,
    /// The variant, where the kind has them.
    pub(crate) variant: Option<Variant>,
    /// Base score plus formatting adjustments.
    pub(crate) score: f32,
    /// Span, including a `+47`, `NO` or `MVA` that belongs to the identifier.
    pub(crate) start: usize,
    /// End of the span.
    pub(crate) end: usize,
}

/// At most two readings: a fødselsnummer-shaped number is also a kontonummer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hypotheses {
    pub(crate) first: Option<Hypothesis>,
    pub(crate) second: Option<Hypothesis>,
}

impl Hypotheses {
    fn one(h: Hypothesis) -> Self {
        Hypotheses {
            first: Some(h),
            second: None,
        }
    }

    /// Whether there is no reading at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.second.is_none()
    }
}

/// The digits of a candidate, copied out of its groups (separators dropped).
struct Digits {
    buf: [u8; 16],
    len: usize,
}

impl Digits {
    fn of(bytes: &[u8], groups: &[Group]) -> Option<Digits> {
        let mut digits = Digits {
            buf: [0; 16],
            len: 0,
        };
        for group in groups {
            let run = bytes.get(group.start..group.end)?;
            digits
                .buf
                .get_mut(digits.len..digits.len + run.len())?
                .copy_from_slice(run);
            digits.len += run.len();
        }
        Some(digits)
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn array<const N: usize>(&self, from: usize) -> Option<[u8; N]> {
        self.buf.get(from..from + N)?.try_into().ok()
    }
}

/// The shape of a candidate: its group lengths and its (single) separator kind.
struct Shape<'g> {
    groups: &'g [Group],
    /// The separator used between groups; `None` for a single group or mixed separators.
    join: Option<Join>,
    mixed: bool,
}

impl<'g> Shape<'g> {
    fn of(groups: &'g [Group]) -> Shape<'g> {
        let mut join = None;
        let mut mixed = false;
        for group in groups.iter().skip(1) {
            match join {
                None => join = Some(group.join),
                Some(j) if j != group.join => mixed = true,
                Some(_) => {}
            }
        }
        Shape {
            groups,
            join,
            mixed,
        }
    }

    fn plain(&self) -> bool {
        self.groups.len() == 1
    }

    /// Whether the groups have exactly these lengths, joined by one of `joins`.
    fn is(&self, lengths: &[usize], joins: &[Join]) -> bool {
        !self.mixed
            && self.groups.len() == lengths.len()
            && self.groups.iter().zip(lengths).all(|(g, &l)| g.len() == l)
            && self.join.is_none_or(|j| joins.contains(&j))
    }
}

const PHONE_GROUPINGS: [&[usize]; 3] = [&[3, 2, 3], &[2, 2, 2, 2], &[4, 4]];

/// The readings of the candidate made of `groups` (a whole cluster or one token of it).
pub(crate) fn hypotheses(text: &str, groups: &[Group]) -> Hypotheses {
    let bytes = text.as_bytes();
    let (Some(first), Some(last)) = (groups.first(), groups.last()) else {
        return Hypotheses::default();
    };
    let (start, end) = (first.start, last.end);
    let Some(digits) = Digits::of(bytes, groups) else {
        return Hypotheses::default();
    };
    let shape = Shape::of(groups);
    if shape.mixed {
        return Hypotheses::default();
    }
    let plus_before = start > 0 && bytes.get(start - 1) == Some(&b'+');

    // `NO` glued in front: an IBAN, or nothing.
    if let Some(no_start) = no_prefix(text, start, NoPrefix::Glued)
        && digits.len == 13
        && shape.join.is_none_or(|j| j == Join::Space)
    {
        return match text.get(no_start..end).map(Iban::parse) {
            Some(Ok(_)) => Hypotheses::one(Hypothesis {
                kind: IdentifierKind::Iban,
                variant: None,
                score: base::IBAN,
                start: no_start,
                end,
            }),
            _ => Hypotheses::default(),
        };
    }

    match digits.len {
        4 if shape.plain() => postnummer(text, &digits, start, end),
        8 => phone_national(text, &digits, &shape, start, end),
        9 => orgnr(text, &digits, &shape, start, end),
        10 if plus_before && digits.as_slice().starts_with(b"47") => {
            phone_with_country_code(&digits, 2, &shape, start - 1, end)
        }
        11 => fnr_or_kontonr(&digits, &shape, start, end),
        12 if digits.as_slice().starts_with(b"0047") && !plus_before => {
            phone_with_country_code(&digits, 4, &shape, start, end)
        }
        12 => duf(&digits, &shape, start, end),
        _ => Hypotheses::default(),
    }
}

fn postnummer(text: &str, digits: &Digits, start: usize, end: usize) -> Hypotheses {
    let Some(array) = digits.array::<4>(0) else {
        return Hypotheses::default();
    };
    if Postnummer::from_digits(&array).is_err() {
        return Hypotheses::default();
    }
    let mut score = base::POSTNUMMER;
    if looks_like_address(text, start, end) {
        score += format::POSTNUMMER_ADDRESS;
    }
    Hypotheses::one(Hypothesis {
        kind: IdentifierKind::Postnummer,
        variant: None,
        score,
        start,
        end,
    })
}

/// `…, 0150 Oslo` or a line that starts `0150 Oslo`: four digits after a comma, colon or line
/// start, followed by one space and a capitalised word.
fn looks_like_address(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).unwrap_or_default().trim_end_matches(' ');
    let after_ok = text.get(end..).is_some_and(|rest| {
        let mut chars = rest.chars();
        chars.next() == Some(' ') && chars.next().is_some_and(char::is_uppercase)
    });
    let before_ok = match before.chars().next_back() {
        None => true,
        Some(c) => matches!(c, ',' | ':' | '\n' | '\t' | ';' | '|'),
    };
    after_ok && before_ok
}

fn phone_national(
    text: &str,
    digits: &Digits,
    shape: &Shape<'_>,
    start: usize,
    end: usize,
) -> Hypotheses {
    let grouped = PHONE_GROUPINGS
        .iter()
        .any(|lengths| shape.is(lengths, &[Join::Space, Join::Dash]));
    if !shape.plain() && !grouped {
        return Hypotheses::default();
    }
    let Some(array) = digits.array::<8>(0) else {
        return Hypotheses::default();
    };
    let Ok(phone) = PhoneNumber::from_digits(&array) else {
        return Hypotheses::default();
    };
    let mut score = phone_base(phone.variant());
    if grouped {
        score += format::PHONE_GROUPED;
    }
    // `(+47) 22 33 44 55`: the country code stands apart from the number.
    let mut span_start = start;
    let before = text.get(..start).unwrap_or_default();
    for prefix in ["(+47) ", "(+47)", "(0047) "] {
        if before.ends_with(prefix) {
            span_start = start - prefix.len();
            score += format::PHONE_COUNTRY_CODE;
            break;
        }
    }
    Hypotheses::one(Hypothesis {
        kind: IdentifierKind::Phone,
        variant: Some(Variant::Phone(phone.variant())),
        score,
        start: span_start,
        end,
    })
}

/// `+47 912 34 567`, `+4791234567`, `0047 91234567`: the country code is the first
/// `code_len` digits, and the national number may be grouped like a national one.
fn phone_with_country_code(
    digits: &Digits,
    code_len: usize,
    shape: &Shape<'_>,
    start: usize,
    end: usize,
) -> Hypotheses {
    let groups = shape.groups;
    let national_groups = match groups.first() {
        Some(first) if first.len() == code_len => &groups[1..],
        Some(_) if groups.len() == 1 => &[][..],
        _ => return Hypotheses::default(),
    };
    let national_shape = Shape::of(national_groups);
    let grouped = PHONE_GROUPINGS
        .iter()
        .any(|lengths| national_shape.is(lengths, &[Join::Space, Join::Dash]));
    let plain = national_groups.len() <= 1;
    if !plain && !grouped {
        return Hypotheses::default();
    }
    let Some(array) = digits.array::<8>(code_len) else {
        return Hypotheses::default();
    };
    let Ok(phone) = PhoneNumber::from_digits(&array) else {
        return Hypotheses::default();
    };
    let mut score = phone_base(phone.variant()) + format::PHONE_COUNTRY_CODE;
    if grouped {
        score += format::PHONE_GROUPED;
    }
    Hypotheses::one(Hypothesis {
        kind: IdentifierKind::Phone,
        variant: Some(Variant::Phone(phone.variant())),
        score,
        start,
        end,
    })
}

fn phone_base(variant: PhoneVariant) -> f32 {
    match variant {
        PhoneVariant::Mobile => base::MOBILE,
        PhoneVariant::Landline => base::LANDLINE,
        _ => base::PHONE_OTHER,
    }
}

fn orgnr(text: &str, digits: &Digits, shape: &Shape<'_>, start: usize, end: usize) -> Hypotheses {
    let grouped = shape.is(&[3, 3, 3], &[Join::Space, Join::Dot]);
    if !shape.plain() && !grouped {
        return Hypotheses::default();
    }
    let Some(array) = digits.array::<9>(0) else {
        return Hypotheses::default();
    };
    if Organisasjonsnummer::from_digits(&array).is_err() {
        return Hypotheses::default();
    }
    let no_start = no_prefix(text, start, NoPrefix::GluedOrSpaced);
    if let Some(mva_end) = mva_suffix(text, end) {
        let (score, span_start) = match no_start {
            Some(no_start) => (base::MVA, no_start),
            None => (base::MVA_WITHOUT_NO, start),
        };
        return Hypotheses::one(Hypothesis {
            kind: IdentifierKind::Mva,
            variant: None,
            score,
            start: span_start,
            end: mva_end,
        });
    }
    let mut score = base::ORGNR;
    if grouped {
        score += format::ORGNR_GROUPED;
    }
    // `NO988077917` without `MVA`: the `NO` belongs to the number, it is not glue.
    let span_start = match no_prefix(text, start, NoPrefix::Glued) {
        Some(no_start) => no_start,
        None => start,
    };
    Hypotheses::one(Hypothesis {
        kind: IdentifierKind::Orgnr,
        variant: None,
        score,
        start: span_start,
        end,
    })
}

fn fnr_or_kontonr(digits: &Digits, shape: &Shape<'_>, start: usize, end: usize) -> Hypotheses {
    let fnr_grouped = shape.is(&[6, 5], &[Join::Space, Join::Dash]);
    let konto_grouped = shape.is(&[4, 2, 5], &[Join::Space, Join::Dot]);
    if !shape.plain() && !fnr_grouped && !konto_grouped {
        return Hypotheses::default();
    }
    let Some(array) = digits.array::<11>(0) else {
        return Hypotheses::default();
    };
    // K2 of a fødselsnummer is the kontonummer check digit: no kontonummer, no fødselsnummer.
    if Kontonummer::from_digits(&array).is_err() {
        return Hypotheses::default();
    }
    let mut konto_score = base::KONTONR;
    if konto_grouped {
        konto_score += format::KONTONR_GROUPED;
    }
    if fnr_grouped {
        konto_score += format::WRONG_GROUPING;
    }
    let konto = Hypothesis {
        kind: IdentifierKind::Kontonr,
        variant: None,
        score: konto_score,
        start,
        end,
    };
    let fnr = Fodselsnummer::from_digits(&array).ok().map(|fnr| {
        let (variant, rule) = (fnr.variant(), fnr.checksum_rule());
        let mut score = match (variant, rule) {
            (FnrVariant::FhNummer, ChecksumRule::Classic) => base::FH_CLASSIC,
            (FnrVariant::FhNummer, _) => base::FH_2032,
            (_, ChecksumRule::Classic) => base::FNR_CLASSIC,
            (_, _) => base::FNR_2032,
        };
        if fnr_grouped {
            score += format::FNR_GROUPED;
        }
        if konto_grouped {
            score += format::WRONG_GROUPING;
        }
        Hypothesis {
            kind: IdentifierKind::Fnr,
            variant: Some(Variant::Fnr { variant, rule }),
            score,
            start,
            end,
        }
    });
    Hypotheses {
        first: Some(konto),
        second: fnr,
    }
}

fn duf(digits: &Digits, shape: &Shape<'_>, start: usize, end: usize) -> Hypotheses {
    let grouped = shape.is(&[4, 6, 2], &[Join::Space]) || shape.is(&[4, 4, 4], &[Join::Space]);
    if !shape.plain() && !grouped {
        return Hypotheses::default();
    }
    let Some(array) = digits.array::<12>(0) else {
        return Hypotheses::default();
    };
    let Ok(duf) = DufNummer::from_digits(&array) else {
        return Hypotheses::default();
    };
    let mut score = if (1980..=2039).contains(&duf.year()) {
        base::DUF
    } else {
        base::DUF_ODD_YEAR
    };
    if grouped {
        score += format::DUF_GROUPED;
    }
    Hypotheses::one(Hypothesis {
        kind: IdentifierKind::Duf,
        variant: None,
        score,
        start,
        end,
    })
}

/// Where a `NO` country prefix may stand.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NoPrefix {
    /// Directly before the digits (`NO93…`, `NO988077917MVA`).
    Glued,
    /// Directly or after one space (`NO 988 077 917 MVA`).
    GluedOrSpaced,
}

/// The start of a `NO` (any case) before `start` that is not itself the end of a word.
fn no_prefix(text: &str, start: usize, allowed: NoPrefix) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = start;
    if allowed == NoPrefix::GluedOrSpaced && at > 0 && bytes.get(at - 1) == Some(&b' ') {
        at -= 1;
    }
    let no_start = at.checked_sub(2)?;
    let prefix = bytes.get(no_start..at)?;
    if !prefix.eq_ignore_ascii_case(b"NO") {
        return None;
    }
    if char_before(text, no_start).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    Some(no_start)
}

/// The end of a `MVA` (any case, optionally after one space) right after `end`, if the next
/// character does not continue a word.
fn mva_suffix(text: &str, end: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = end;
    if bytes.get(at) == Some(&b' ') {
        at += 1;
    }
    let suffix = bytes.get(at..at + 3)?;
    if !suffix.eq_ignore_ascii_case(b"MVA") {
        return None;
    }
    let suffix_end = at + 3;
    if char_at(text, suffix_end).is_some_and(is_glue) {
        return None;
    }
    Some(suffix_end)
}
