//! Generators of valid identifiers, for tests, the PII detection corpus and synthetic demo data.
//!
//! Every generator takes the caller's random number generator (the core does no I/O, so it has
//! no OS entropy of its own): seed one for reproducible data. A generated number is valid by
//! construction, but ordinary fødselsnummer, D-nummer, kontonummer and phone numbers may happen
//! to belong to a real person or account; use [`FnrVariant::Tenor`] (month + 80) for national
//! ids that are synthetic by definition.

use jiff::civil::Date;
use rand::Rng;

use super::digits::{self, ascii};
use super::fnr::{K1_WEIGHTS, K2_WEIGHTS};
use super::{
    ChecksumRule, FnrVariant, Iban, IdentifierKind, Kontonummer, MvaNummer, Organisasjonsnummer,
    PhoneVariant, duf, kontonr, orgnr,
};

/// A valid number of the given variant whose first check digit follows `rule`, as 11 digits.
///
/// With [`ChecksumRule::Rule2032`] the number passes only the 2032 rule, never the classic one,
/// so [`Fodselsnummer::checksum_rule`](super::Fodselsnummer::checksum_rule) gives back `rule`.
/// Dates lie in 1854–2039 and the individual number matches the century, so
/// [`birth_date`](super::Fodselsnummer::birth_date) is always `Some` (except for FH-nummer).
pub fn fodselsnummer<R: Rng + ?Sized>(
    rng: &mut R,
    variant: FnrVariant,
    rule: ChecksumRule,
) -> String {
    digits::as_str(&fodselsnummer_digits(rng, variant, rule)).to_owned()
}

/// [`fodselsnummer`] as ASCII digits, without allocating.
pub fn fodselsnummer_digits<R: Rng + ?Sized>(
    rng: &mut R,
    variant: FnrVariant,
    rule: ChecksumRule,
) -> [u8; 11] {
    loop {
        let birth = random_date(rng);
        if let Some(digits) = fodselsnummer_digits_born_on(rng, birth, variant, rule) {
            return digits;
        }
    }
}

/// A valid number of the given variant for a person born on `birth_date`.
///
/// `None` for FH-nummer (they hold no date) and for dates outside 1854–2039, which the
/// individual number cannot express.
pub fn fodselsnummer_born_on<R: Rng + ?Sized>(
    rng: &mut R,
    birth_date: Date,
    variant: FnrVariant,
    rule: ChecksumRule,
) -> Option<String> {
    if variant == FnrVariant::FhNummer {
        return None;
    }
    fodselsnummer_digits_born_on(rng, birth_date, variant, rule)
        .map(|digits| digits::as_str(&digits).to_owned())
}

/// A fødselsnummer of a random variant under a random rule (mostly classic, as today).
pub fn any_fodselsnummer<R: Rng + ?Sized>(rng: &mut R) -> String {
    let variant = FnrVariant::ALL[rng.random_range(0..FnrVariant::ALL.len())];
    let rule = if rng.random_bool(0.2) {
        ChecksumRule::Rule2032
    } else {
        ChecksumRule::Classic
    };
    fodselsnummer(rng, variant, rule)
}

/// A valid organisasjonsnummer (first digit 8 or 9, as Enhetsregisteret assigns them).
pub fn orgnr<R: Rng + ?Sized>(rng: &mut R) -> String {
    digits::as_str(&orgnr_digits(rng)).to_owned()
}

/// [`orgnr`] as ASCII digits, without allocating.
pub fn orgnr_digits<R: Rng + ?Sized>(rng: &mut R) -> [u8; 9] {
    loop {
        let mut d = [b'0'; 9];
        d[0] = ascii(rng.random_range(8..=9));
        fill_digits(rng, &mut d[1..8]);
        if let Some(check) =
            digits::mod11_check_digit(digits::weighted_sum(&d[..8], &orgnr::WEIGHTS))
        {
            d[8] = ascii(check);
            return d;
        }
    }
}

/// A valid MVA-nummer: `NO` + organisasjonsnummer + `MVA`.
pub fn mva<R: Rng + ?Sized>(rng: &mut R) -> String {
    let digits = orgnr_digits(rng);
    match Organisasjonsnummer::from_digits(&digits) {
        Ok(orgnr) => MvaNummer::from_orgnr(orgnr).as_str().to_owned(),
        Err(_) => format!("NO{}MVA", digits::as_str(&digits)),
    }
}

/// A valid kontonummer (11 digits, no formatting).
pub fn kontonummer<R: Rng + ?Sized>(rng: &mut R) -> String {
    digits::as_str(&kontonummer_digits(rng)).to_owned()
}

/// [`kontonummer`] as ASCII digits, without allocating. The bank registration number (the
/// first four digits) is never `0000`.
pub fn kontonummer_digits<R: Rng + ?Sized>(rng: &mut R) -> [u8; 11] {
    loop {
        let mut d = [b'0'; 11];
        d[0] = ascii(rng.random_range(1..=9));
        fill_digits(rng, &mut d[1..10]);
        if let Some(check) =
            digits::mod11_check_digit(digits::weighted_sum(&d[..10], &kontonr::WEIGHTS))
        {
            d[10] = ascii(check);
            return d;
        }
    }
}

/// A valid Norwegian IBAN in electronic form (`NO9386011117947`).
pub fn iban<R: Rng + ?Sized>(rng: &mut R) -> String {
    let digits = kontonummer_digits(rng);
    match Kontonummer::from_digits(&digits) {
        Ok(kontonummer) => Iban::from_kontonummer(&kontonummer).as_str().to_owned(),
        Err(_) => String::new(),
    }
}

/// A valid DUF-nummer (12 digits) with an application year in 1990–2029.
pub fn duf<R: Rng + ?Sized>(rng: &mut R) -> String {
    digits::as_str(&duf_digits(rng)).to_owned()
}

/// [`duf`] as ASCII digits, without allocating.
pub fn duf_digits<R: Rng + ?Sized>(rng: &mut R) -> [u8; 12] {
    let mut d = [b'0'; 12];
    write_number(&mut d[..4], rng.random_range(1990..=2029));
    fill_digits(rng, &mut d[4..10]);
    let check = duf::check_number(&d[..10]);
    write_number(&mut d[10..], check);
    d
}

/// A possible 8-digit phone number of the given kind (national digits, no country code).
pub fn phone<R: Rng + ?Sized>(rng: &mut R, variant: PhoneVariant) -> String {
    let first: &[u8] = match variant {
        PhoneVariant::Mobile => b"49",
        PhoneVariant::Landline => b"23567",
        PhoneVariant::Other => b"8",
    };
    let mut d = [b'0'; 8];
    d[0] = first[rng.random_range(0..first.len())];
    fill_digits(rng, &mut d[1..]);
    digits::as_str(&d).to_owned()
}

/// A postnummer in 0001–9999 (format only: it need not be in Posten's register).
pub fn postnummer<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut d = [b'0'; 4];
    write_number(&mut d, rng.random_range(1..=9999));
    digits::as_str(&d).to_owned()
}

/// An e-mail address at a domain reserved for examples (RFC 2606), so it never reaches anyone.
pub fn email<R: Rng + ?Sized>(rng: &mut R) -> String {
    const GIVEN: [&str; 10] = [
        "ola", "kari", "per", "ingrid", "lars", "nora", "emil", "sofie", "jakob", "astrid",
    ];
    const FAMILY: [&str; 10] = [
        "nordmann", "hansen", "johansen", "olsen", "larsen", "andersen", "pedersen", "nilsen",
        "berg", "haugen",
    ];
    const DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];
    let given = GIVEN[rng.random_range(0..GIVEN.len())];
    let family = FAMILY[rng.random_range(0..FAMILY.len())];
    let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
    if rng.random_bool(0.5) {
        format!("{given}.{family}@{domain}")
    } else {
        format!("{given}.{family}{}@{domain}", rng.random_range(1..100))
    }
}

/// A valid value of any kind (random variant where the kind has several).
pub fn valid<R: Rng + ?Sized>(rng: &mut R, kind: IdentifierKind) -> String {
    match kind {
        IdentifierKind::Fnr => any_fodselsnummer(rng),
        IdentifierKind::Duf => duf(rng),
        IdentifierKind::Orgnr => orgnr(rng),
        IdentifierKind::Mva => mva(rng),
        IdentifierKind::Kontonr => kontonummer(rng),
        IdentifierKind::Iban => iban(rng),
        IdentifierKind::Phone => {
            const VARIANTS: [PhoneVariant; 3] = [
                PhoneVariant::Mobile,
                PhoneVariant::Landline,
                PhoneVariant::Other,
            ];
            let variant = VARIANTS[rng.random_range(0..VARIANTS.len())];
            phone(rng, variant)
        }
        IdentifierKind::Postnummer => postnummer(rng),
        IdentifierKind::Email => email(rng),
    }
}

/// `value` with one of its ASCII digits (chosen at random) replaced by a different digit: a
/// near miss for negative test data. Returns `value` unchanged if it has no digit.
pub fn with_one_digit_changed<R: Rng + ?Sized>(rng: &mut R, value: &str) -> String {
    let positions = value.bytes().filter(u8::is_ascii_digit).count();
    if positions == 0 {
        return value.to_owned();
    }
    let target = rng.random_range(0..positions);
    let mut seen = 0;
    value
        .chars()
        .map(|ch| {
            if !ch.is_ascii_digit() {
                return ch;
            }
            seen += 1;
            if seen - 1 != target {
                return ch;
            }
            let old = ch as u8 - b'0';
            let new = (old + rng.random_range(1..=9)) % 10;
            char::from(ascii(new))
        })
        .collect()
}

fn fodselsnummer_digits_born_on<R: Rng + ?Sized>(
    rng: &mut R,
    birth: Date,
    variant: FnrVariant,
    rule: ChecksumRule,
) -> Option<[u8; 11]> {
    let mut d = [b'0'; 11];
    if variant == FnrVariant::FhNummer {
        d[0] = ascii(rng.random_range(8..=9));
        fill_digits(rng, &mut d[1..9]);
    } else {
        let individual_range = match birth.year() {
            1854..=1899 => 500..=749,
            1940..=1999 if rng.random_bool(0.1) => 900..=999,
            1900..=1999 => 0..=499,
            2000..=2039 => 500..=999,
            _ => return None,
        };
        let day_offset = match variant {
            FnrVariant::DNummer | FnrVariant::TenorDNummer => 40,
            _ => 0,
        };
        let month_offset = match variant {
            FnrVariant::HNummer => 40,
            FnrVariant::Tenor | FnrVariant::TenorDNummer => 80,
            _ => 0,
        };
        write_number(&mut d[0..2], birth.day() as u32 + day_offset);
        write_number(&mut d[2..4], birth.month() as u32 + month_offset);
        write_number(&mut d[4..6], (birth.year() % 100) as u32);
        // Some individual numbers admit no check digit (10); a few tries always find one.
        for _ in 0..64 {
            write_number(&mut d[6..9], rng.random_range(individual_range.clone()));
            if let Some((k1, k2)) = check_digits(rng, &d[..9], rule) {
                d[9] = ascii(k1);
                d[10] = ascii(k2);
                return Some(d);
            }
        }
        return None;
    }
    loop {
        if let Some((k1, k2)) = check_digits(rng, &d[..9], rule) {
            d[9] = ascii(k1);
            d[10] = ascii(k2);
            return Some(d);
        }
        fill_digits(rng, &mut d[1..9]);
    }
}

/// K1 under `rule` (for the 2032 rule: one of the residues 1–3, chosen at random, that gives a
/// single digit) and the classic K2; `None` when no such pair exists for these nine digits.
fn check_digits<R: Rng + ?Sized>(
    rng: &mut R,
    first_nine: &[u8],
    rule: ChecksumRule,
) -> Option<(u8, u8)> {
    let s1 = digits::weighted_sum(first_nine, &K1_WEIGHTS);
    let k1 = match rule {
        ChecksumRule::Classic => digits::mod11_check_digit(s1)?,
        ChecksumRule::Rule2032 => {
            let start = rng.random_range(0..3u32);
            (0..3)
                .map(|i| 1 + (start + i) % 3)
                .map(|residue| (residue + 11 - s1 % 11) % 11)
                .find(|&k1| k1 <= 9)? as u8
        }
    };
    let mut ten = [b'0'; 10];
    ten[..9].copy_from_slice(first_nine);
    ten[9] = ascii(k1);
    let k2 = digits::mod11_check_digit(digits::weighted_sum(&ten, &K2_WEIGHTS))?;
    Some((k1, k2))
}

/// A random calendar date in 1854–2039.
fn random_date<R: Rng + ?Sized>(rng: &mut R) -> Date {
    loop {
        let year = rng.random_range(1854..=2039);
        let month = rng.random_range(1..=12);
        let day = rng.random_range(1..=31);
        if let Ok(date) = Date::new(year, month, day) {
            return date;
        }
    }
}

fn fill_digits<R: Rng + ?Sized>(rng: &mut R, out: &mut [u8]) {
    for slot in out {
        *slot = ascii(rng.random_range(0..=9));
    }
}

/// Writes `number` as zero-padded decimal digits filling `out`.
fn write_number(out: &mut [u8], mut number: u32) {
    for slot in out.iter_mut().rev() {
        *slot = ascii((number % 10) as u8);
        number /= 10;
    }
}
