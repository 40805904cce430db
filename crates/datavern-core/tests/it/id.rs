//! Norwegian identifiers: the brief's examples, each rule's edge cases, and properties over
//! generated numbers checked against an independent reference implementation.

use datavern_core::id::{
    self, ChecksumRule, DateError, DufNummer, EmailError, FnrVariant, Fodselsnummer, Iban, IdError,
    Identifier, IdentifierKind, Kontonummer, MvaNummer, Organisasjonsnummer, PhoneNumber,
    PhoneVariant, synth,
};
use jiff::civil::date;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

// ---------------------------------------------------------------------------------------------
// Data-driven helpers

/// Checks `input` as `kind`: `Ok(variant label)` for a valid value, `Err(error)` otherwise.
#[track_caller]
fn check(kind: IdentifierKind, input: &str, expected: Result<Option<&str>, IdError>) {
    let actual = id::check(kind, input);
    assert_eq!(
        actual.as_ref().map(Identifier::variant).map_err(|err| *err),
        expected,
        "{kind} {input:?}"
    );
    if let Ok(value) = actual {
        assert_eq!(value.kind(), kind);
    }
}

/// Checks a fødselsnummer: `Ok((variant, rule))` or the error.
#[track_caller]
fn check_fnr(input: &str, expected: Result<(FnrVariant, ChecksumRule), IdError>) {
    let actual = Fodselsnummer::parse(input).map(|fnr| (fnr.variant(), fnr.checksum_rule()));
    assert_eq!(actual, expected, "{input:?}");
}

fn valid(variant: FnrVariant) -> Result<(FnrVariant, ChecksumRule), IdError> {
    Ok((variant, ChecksumRule::Classic))
}

fn valid_2032(variant: FnrVariant) -> Result<(FnrVariant, ChecksumRule), IdError> {
    Ok((variant, ChecksumRule::Rule2032))
}

fn bad_date(error: DateError) -> IdError {
    IdError::InvalidDate(error)
}

fn fnr(input: &str) -> Fodselsnummer {
    Fodselsnummer::parse(input).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The brief's examples

#[test]
fn brief_examples_are_classified() {
    use FnrVariant::*;
    check_fnr("15108695088", valid(Fodselsnummer));
    check_fnr("26111593816", valid(Fodselsnummer));
    check_fnr("53097248016", valid(DNummer));
    check_fnr("13527248013", valid(HNummer));
    check_fnr("10915596784", valid(Tenor));
    check_fnr("15108695077", Err(IdError::FirstCheckDigit));
    check_fnr("19575770838", Err(bad_date(DateError::Month(57))));

    check(IdentifierKind::Orgnr, "988077917", Ok(None));
    check(IdentifierKind::Orgnr, "988077918", Err(IdError::CheckDigit));
    check(IdentifierKind::Kontonr, "86011117947", Ok(None));
}

#[test]
fn brief_examples_through_check_have_stable_labels() {
    check(
        IdentifierKind::Fnr,
        "15108695088",
        Ok(Some("fodselsnummer")),
    );
    check(IdentifierKind::Fnr, "53097248016", Ok(Some("d-nummer")));
    check(IdentifierKind::Fnr, "13527248013", Ok(Some("h-nummer")));
    check(IdentifierKind::Fnr, "10915596784", Ok(Some("tenor")));
    check(
        IdentifierKind::Fnr,
        "50915596778",
        Ok(Some("tenor-d-nummer")),
    );
    check(IdentifierKind::Fnr, "91234567883", Ok(Some("fh-nummer")));
    check(IdentifierKind::Phone, "91234567", Ok(Some("mobile")));
    check(IdentifierKind::Phone, "22334455", Ok(Some("landline")));
    check(IdentifierKind::Phone, "80012345", Ok(Some("other")));
}

#[test]
fn error_messages_say_what_is_wrong() {
    let message = |kind, input| id::check(kind, input).unwrap_err().to_string();
    assert_eq!(
        message(IdentifierKind::Fnr, "1510869508"),
        "wrong length: expected 11 digits, got 10"
    );
    assert_eq!(
        message(IdentifierKind::Fnr, "15108695077"),
        "first check digit does not match"
    );
    assert_eq!(
        message(IdentifierKind::Fnr, "15108695089"),
        "second check digit does not match"
    );
    assert_eq!(
        message(IdentifierKind::Fnr, "19575770838"),
        "not a valid date: month 57"
    );
    assert_eq!(
        message(IdentifierKind::Fnr, "31047212378"),
        "not a valid date: month 4 has no day 31"
    );
    assert_eq!(
        message(IdentifierKind::Fnr, "1510869508x"),
        "unexpected character at position 11: expected a digit (or one space after the date)"
    );
    assert_eq!(
        message(IdentifierKind::Orgnr, "988077918"),
        "check digit does not match"
    );
    assert_eq!(
        message(IdentifierKind::Iban, "NO938601111794"),
        "wrong length: expected 15 characters, got 14"
    );
    assert_eq!(
        message(IdentifierKind::Phone, "12345678"),
        "not a possible number: 8-digit numbers never start with 1"
    );
    assert_eq!(
        message(IdentifierKind::Email, "ola@localhost"),
        "not a valid e-mail address: the domain needs at least two labels"
    );
}

// ---------------------------------------------------------------------------------------------
// Fødselsnummer

#[test]
fn fnr_accepts_one_space_between_date_and_individual_number() {
    use FnrVariant::*;
    check_fnr("151086 95088", valid(Fodselsnummer));
    check_fnr("  15108695088\n", valid(Fodselsnummer));
    check_fnr(
        "1510 8695088",
        Err(IdError::UnexpectedCharacter {
            position: 5,
            expected: "a digit (or one space after the date)",
        }),
    );
    check_fnr(
        "151086  95088",
        Err(IdError::UnexpectedCharacter {
            position: 8,
            expected: "a digit (or one space after the date)",
        }),
    );
    check_fnr(
        "151086-95088",
        Err(IdError::UnexpectedCharacter {
            position: 7,
            expected: "a digit (or one space after the date)",
        }),
    );
    check_fnr(
        "151086950881",
        Err(IdError::WrongLength {
            expected: 11,
            got: 12,
            unit: "digits",
        }),
    );
    check_fnr("", Err(IdError::Empty));
    check_fnr("   ", Err(IdError::Empty));
    // Positions count from the input as given, leading whitespace included.
    check_fnr(
        "  1510869508a",
        Err(IdError::UnexpectedCharacter {
            position: 13,
            expected: "a digit (or one space after the date)",
        }),
    );
}

#[test]
fn fnr_variants_are_read_from_the_date_offsets() {
    use FnrVariant::*;
    check_fnr("50915596778", valid(TenorDNummer));
    check_fnr("91234567883", valid(FhNummer));
    check_fnr("81122334406", valid_2032(FhNummer));
    check_fnr("45527212336", Err(bad_date(DateError::DNummerWithHNummer)));
}

#[test]
fn fnr_2032_rule_is_accepted_and_labelled() {
    // For 151086950, S1 = 223 ≡ 3 (mod 11). Classic K1 = 8; the 2032 rule also allows K1 = 9
    // ((223 + 9) mod 11 = 1) and K1 = 0 (mod 11 = 3), while K1 = 1 would give residue 4.
    check_fnr("15108695096", valid_2032(FnrVariant::Fodselsnummer));
    check_fnr("15108695002", valid_2032(FnrVariant::Fodselsnummer));
    // K1 = 1 with a matching K2: rejected by both rules.
    check_fnr(
        &with_check_digits_k1("151086950", 1).unwrap(),
        Err(IdError::FirstCheckDigit),
    );
    // Every K1 digit for these nine digits that has a matching K2 (K1 = 7 has none).
    for k1 in 0..=9 {
        let Some(number) = with_check_digits_k1("151086950", k1) else {
            assert_eq!(k1, 7);
            continue;
        };
        let expected = match k1 {
            8 => valid(FnrVariant::Fodselsnummer),
            9 | 0 => valid_2032(FnrVariant::Fodselsnummer),
            _ => Err(IdError::FirstCheckDigit),
        };
        check_fnr(&number, expected);
    }
}

#[test]
fn fnr_date_is_a_calendar_date_in_some_century() {
    use FnrVariant::*;
    check_fnr("00017212346", Err(bad_date(DateError::Day(0))));
    check_fnr("32017212337", Err(bad_date(DateError::Day(32))));
    check_fnr("72017212320", Err(bad_date(DateError::Day(72))));
    check_fnr("01007212395", Err(bad_date(DateError::Month(0))));
    check_fnr("01139912396", Err(bad_date(DateError::Month(13))));
    check_fnr(
        "31047212378",
        Err(bad_date(DateError::DayInMonth { day: 31, month: 4 })),
    );
    // D-nummer: day 71 is day 31, which April does not have.
    check_fnr(
        "71048612363",
        Err(bad_date(DateError::DayInMonth { day: 31, month: 4 })),
    );
    // 29 February: 1900 was not a leap year but 2000 was; accept the date, never the century.
    check_fnr("29020010027", valid(Fodselsnummer));
    check_fnr("29020050088", valid(Fodselsnummer));
    check_fnr("29020110048", Err(bad_date(DateError::LeapDay)));
}

#[test]
fn fnr_is_never_rejected_on_century_or_future_date() {
    // Individual number 800 with year 50 matches no century rule.
    check_fnr("01015080082", valid(FnrVariant::Fodselsnummer));
    assert_eq!(fnr("01015080082").birth_date(), None);
    // Born 2039: in the future today, and accepted.
    check_fnr("01013950187", valid(FnrVariant::Fodselsnummer));
    assert_eq!(fnr("01013950187").birth_date(), Some(date(2039, 1, 1)));
}

#[test]
fn fnr_birth_date_uses_the_century_of_the_individual_number() {
    assert_eq!(fnr("15108695088").birth_date(), Some(date(1986, 10, 15)));
    assert_eq!(fnr("53097248016").birth_date(), Some(date(1972, 9, 13)));
    assert_eq!(fnr("13527248013").birth_date(), Some(date(1972, 12, 13)));
    assert_eq!(fnr("10915596784").birth_date(), Some(date(1955, 11, 10)));
    assert_eq!(fnr("50915596778").birth_date(), Some(date(1955, 11, 10)));
    assert_eq!(fnr("29020050088").birth_date(), Some(date(2000, 2, 29)));
    // 29.02.1900 does not exist: valid number, unknown birth date.
    assert_eq!(fnr("29020010027").birth_date(), None);
    assert_eq!(fnr("91234567883").birth_date(), None);
}

#[test]
fn fnr_debug_redacts_and_digits_are_explicit() {
    let number = fnr("53097248016");
    assert_eq!(
        format!("{number:?}"),
        "Fodselsnummer { variant: DNummer, .. }"
    );
    assert_eq!(
        format!(
            "{:?}",
            id::check(IdentifierKind::Fnr, "15108695088").unwrap()
        ),
        "Fnr(Fodselsnummer { variant: Fodselsnummer, .. })"
    );
    assert_eq!(number.as_str(), "53097248016");
    assert_eq!(number.digits(), b"53097248016");
}

#[test]
fn fnr_from_digits_rejects_non_digits_without_panicking() {
    assert_eq!(
        Fodselsnummer::from_digits(b"1510869508\0"),
        Err(IdError::UnexpectedCharacter {
            position: 11,
            expected: "a digit"
        })
    );
    assert_eq!(
        Fodselsnummer::from_digits(b"15108695088").map(|f| f.variant()),
        Ok(FnrVariant::Fodselsnummer)
    );
}

// ---------------------------------------------------------------------------------------------
// The other kinds

#[test]
fn orgnr_and_mva() {
    use IdentifierKind::{Mva, Orgnr};
    check(Orgnr, "988 077 917", Ok(None));
    check(
        Orgnr,
        "98807791",
        Err(IdError::WrongLength {
            expected: 9,
            got: 8,
            unit: "digits",
        }),
    );
    check(
        Orgnr,
        "988-077-917",
        Err(IdError::UnexpectedCharacter {
            position: 4,
            expected: "a digit (or a space between groups of three)",
        }),
    );
    let orgnr = Organisasjonsnummer::parse("988077917").unwrap();
    assert_eq!(orgnr.formatted(), "988 077 917");
    assert_eq!(format!("{orgnr:?}"), "Organisasjonsnummer(..)");

    check(Mva, "NO988077917MVA", Ok(None));
    check(Mva, "no 988 077 917 mva", Ok(None));
    check(Mva, " NO 988077917 MVA ", Ok(None));
    check(Mva, "NO988077917", Err(IdError::MissingMvaSuffix));
    check(Mva, "988077917MVA", Err(IdError::MissingMvaPrefix));
    check(Mva, "NO988077918MVA", Err(IdError::CheckDigit));
    check(
        Mva,
        "NO98807791xMVA",
        Err(IdError::UnexpectedCharacter {
            position: 11,
            expected: "a digit (or a space between groups of three)",
        }),
    );
    let mva = MvaNummer::parse("no 988 077 917 mva").unwrap();
    assert_eq!(mva.as_str(), "NO988077917MVA");
    assert_eq!(mva.orgnr(), orgnr);
}

#[test]
fn kontonummer_formats() {
    use IdentifierKind::Kontonr;
    check(Kontonr, "8601.11.17947", Ok(None));
    check(Kontonr, "8601 11 17947", Ok(None));
    check(Kontonr, "86011117948", Err(IdError::CheckDigit));
    // One separator throughout, and only between the 4-2-5 groups.
    let expected = "a digit (or a dot or space between the 4-2-5 groups)";
    check(
        Kontonr,
        "8601.11 17947",
        Err(IdError::UnexpectedCharacter {
            position: 8,
            expected,
        }),
    );
    check(
        Kontonr,
        "860.111.17947",
        Err(IdError::UnexpectedCharacter {
            position: 4,
            expected,
        }),
    );
    let konto = Kontonummer::parse("86011117947").unwrap();
    assert_eq!(konto.formatted(), "8601.11.17947");
    assert_eq!(konto.bank_code(), "8601");
    assert_eq!(format!("{konto:?}"), "Kontonummer(..)");
}

#[test]
fn iban_checks_mod_97_and_the_embedded_kontonummer() {
    use IdentifierKind::Iban as IbanKind;
    check(IbanKind, "NO9386011117947", Ok(None));
    check(IbanKind, "NO93 8601 1117 947", Ok(None));
    check(IbanKind, "no93 8601 1117 947", Ok(None));
    check(IbanKind, "NO9486011117947", Err(IdError::CheckDigits));
    check(
        IbanKind,
        "DE89 3704 0044 0532 0130 00",
        Err(IdError::NotNorwegianIban),
    );
    check(
        IbanKind,
        "NO93 86011117 947",
        Err(IdError::UnexpectedCharacter {
            position: 10,
            expected: "a space between groups of four",
        }),
    );
    check(
        IbanKind,
        "NO938601 1117 947",
        Err(IdError::UnexpectedCharacter {
            position: 9,
            expected: "a letter or digit (or a space between groups of four)",
        }),
    );
    // Check digits computed for an account whose own check digit is wrong.
    let bad_account = "86011117948";
    let iban = format!("NO{:02}{bad_account}", reference_iban_check(bad_account));
    check(IbanKind, &iban, Err(IdError::EmbeddedKontonummer));

    let konto = Kontonummer::parse("86011117947").unwrap();
    let iban = Iban::from_kontonummer(&konto);
    assert_eq!(iban.as_str(), "NO9386011117947");
    assert_eq!(iban.formatted(), "NO93 8601 1117 947");
    assert_eq!(iban.kontonummer(), konto);
    assert_eq!(format!("{iban:?}"), "Iban(..)");
}

#[test]
fn duf_uses_the_kostra_check_rule() {
    use IdentifierKind::Duf;
    // Statistics Norway's KOSTRA control program test number.
    check(Duf, "201212345603", Ok(None));
    check(Duf, "2012 123456 03", Ok(None));
    // oyms/NorwegianTypes test numbers (an independent implementation of the same rule).
    check(Duf, "200205705502", Ok(None));
    check(Duf, "200900595509", Ok(None));
    // KOSTRA's negative example.
    check(Duf, "201234567890", Err(IdError::CheckDigits));
    // UDI's illustrative number on udi.no does not pass this rule (its check number would be
    // 06): we take it for a made-up example, see docs/identifiers.md.
    check(Duf, "2012 586975 61", Err(IdError::CheckDigits));
    check(
        Duf,
        "20121234560",
        Err(IdError::WrongLength {
            expected: 12,
            got: 11,
            unit: "digits",
        }),
    );
    let duf = DufNummer::parse("201212345603").unwrap();
    assert_eq!(duf.year(), 2012);
    assert_eq!(format!("{duf:?}"), "DufNummer(..)");
}

#[test]
fn phone_numbers() {
    use IdentifierKind::Phone;
    check(Phone, "+47 912 34 567", Ok(Some("mobile")));
    check(Phone, "+4741234567", Ok(Some("mobile")));
    check(Phone, "0047 22 22 22 22", Ok(Some("landline")));
    check(Phone, "55-55-55-55", Ok(Some("landline")));
    check(Phone, "800 12 345", Ok(Some("other")));
    check(
        Phone,
        "12345678",
        Err(IdError::ImpossiblePhoneNumber { first_digit: 1 }),
    );
    check(
        Phone,
        "02345678",
        Err(IdError::ImpossiblePhoneNumber { first_digit: 0 }),
    );
    check(Phone, "+46 70 123 45 67", Err(IdError::ForeignCountryCode));
    check(Phone, "0046 70 123 45 67", Err(IdError::ForeignCountryCode));
    check(
        Phone,
        "9123456",
        Err(IdError::WrongLength {
            expected: 8,
            got: 7,
            unit: "digits",
        }),
    );
    check(
        Phone,
        "912 34 567 ext 2",
        Err(IdError::UnexpectedCharacter {
            position: 12,
            expected: "a digit (or a space or hyphen between digits)",
        }),
    );
    let phone = PhoneNumber::parse("+47 912 34 567").unwrap();
    assert_eq!(phone.as_str(), "91234567");
    assert_eq!(phone.e164(), "+4791234567");
    assert_eq!(phone.variant(), PhoneVariant::Mobile);
    assert_eq!(format!("{phone:?}"), "PhoneNumber { variant: Mobile, .. }");
}

#[test]
fn postnummer_is_four_digits_not_0000() {
    use IdentifierKind::Postnummer;
    check(Postnummer, "0150", Ok(None));
    check(Postnummer, "9990", Ok(None));
    check(Postnummer, "0001", Ok(None));
    check(Postnummer, "0000", Err(IdError::PostnummerZero));
    check(
        Postnummer,
        "150",
        Err(IdError::WrongLength {
            expected: 4,
            got: 3,
            unit: "digits",
        }),
    );
    check(
        Postnummer,
        "01 50",
        Err(IdError::UnexpectedCharacter {
            position: 3,
            expected: "a digit",
        }),
    );
}

#[test]
fn email_addresses() {
    use IdentifierKind::Email;
    let invalid = |error| Err(IdError::InvalidEmail(error));
    check(Email, "ola.nordmann@example.com", Ok(None));
    check(Email, "kari+nyhetsbrev@post.example.no", Ok(None));
    check(Email, "bjørn@bærum.kommune.no", Ok(None));
    check(Email, "o'brien@example.com", Ok(None));
    check(Email, "ola", invalid(EmailError::At));
    check(Email, "a@b@example.com", invalid(EmailError::At));
    check(Email, "@example.com", invalid(EmailError::EmptyLocalPart));
    check(Email, "ola@", invalid(EmailError::EmptyDomain));
    check(
        Email,
        "ola@localhost",
        invalid(EmailError::SingleLabelDomain),
    );
    check(Email, ".ola@example.com", invalid(EmailError::LocalPartDot));
    check(
        Email,
        "ola..n@example.com",
        invalid(EmailError::LocalPartDot),
    );
    check(
        Email,
        "ola n@example.com",
        invalid(EmailError::LocalPartCharacter),
    );
    check(
        Email,
        "\"ola\"@example.com",
        invalid(EmailError::LocalPartCharacter),
    );
    check(Email, "ola@example..com", invalid(EmailError::EmptyLabel));
    check(Email, "ola@-example.com", invalid(EmailError::LabelHyphen));
    check(
        Email,
        "ola@exa_mple.com",
        invalid(EmailError::DomainCharacter),
    );
    check(
        Email,
        "ola@192.168.0.1",
        invalid(EmailError::NumericTopLevelDomain),
    );
    let long_local = format!("{}@example.com", "a".repeat(65));
    check(Email, &long_local, invalid(EmailError::LocalPartTooLong));
    let long_label = format!("ola@{}.com", "a".repeat(64));
    check(Email, &long_label, invalid(EmailError::LabelTooLong));
    let long = format!("ola@{}.com", vec!["a".repeat(60); 5].join("."));
    check(Email, &long, invalid(EmailError::TooLong));

    let email = id::EmailAddress::parse(" ola@example.com ").unwrap();
    assert_eq!(email.as_str(), "ola@example.com");
    assert_eq!(email.local_part(), "ola");
    assert_eq!(email.domain(), "example.com");
    assert_eq!(format!("{email:?}"), "EmailAddress(..)");
}

#[test]
fn every_kind_rejects_empty_input() {
    for kind in IdentifierKind::ALL {
        check(kind, "", Err(IdError::Empty));
        check(kind, " \t", Err(IdError::Empty));
    }
}

#[test]
fn every_kind_has_a_generator_whose_output_validates() {
    let mut rng = StdRng::seed_from_u64(7);
    for kind in IdentifierKind::ALL {
        for _ in 0..200 {
            let value = synth::valid(&mut rng, kind);
            let identifier = id::check(kind, &value)
                .unwrap_or_else(|err| panic!("{kind}: generated value rejected: {err}"));
            assert_eq!(identifier.kind(), kind);
            assert_eq!(identifier.as_str().trim(), identifier.as_str());
        }
    }
}

#[test]
fn synth_born_on_encodes_the_date() {
    let mut rng = StdRng::seed_from_u64(1);
    for variant in FnrVariant::ALL {
        for rule in ChecksumRule::ALL {
            let born = date(1989, 2, 28);
            let generated = synth::fodselsnummer_born_on(&mut rng, born, variant, rule);
            if variant == FnrVariant::FhNummer {
                assert_eq!(generated, None);
                continue;
            }
            let number = fnr(&generated.unwrap());
            assert_eq!(number.birth_date(), Some(born));
            assert_eq!(number.variant(), variant);
            assert_eq!(number.checksum_rule(), rule);
        }
    }
    assert_eq!(
        synth::fodselsnummer_born_on(
            &mut rng,
            date(1853, 12, 31),
            FnrVariant::Fodselsnummer,
            ChecksumRule::Classic
        ),
        None
    );
}

#[test]
fn with_one_digit_changed_changes_exactly_one_digit() {
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..100 {
        let changed = synth::with_one_digit_changed(&mut rng, "8601.11.17947");
        let differences = changed
            .chars()
            .zip("8601.11.17947".chars())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differences, 1, "{changed}");
        assert!(Kontonummer::parse(&changed).is_err());
    }
    assert_eq!(synth::with_one_digit_changed(&mut rng, "abc"), "abc");
}

// ---------------------------------------------------------------------------------------------
// Properties

fn fnr_strategy() -> impl Strategy<Value = (FnrVariant, ChecksumRule, u64)> {
    (
        prop::sample::select(FnrVariant::ALL.to_vec()),
        prop::sample::select(ChecksumRule::ALL.to_vec()),
        any::<u64>(),
    )
}

/// Generates a valid value of a checksummed kind from a seed.
fn checksummed(kind: IdentifierKind, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    match kind {
        IdentifierKind::Fnr => synth::any_fodselsnummer(&mut rng),
        IdentifierKind::Duf => synth::duf(&mut rng),
        IdentifierKind::Orgnr => synth::orgnr(&mut rng),
        IdentifierKind::Mva => synth::mva(&mut rng),
        IdentifierKind::Kontonr => synth::kontonummer(&mut rng),
        IdentifierKind::Iban => synth::iban(&mut rng),
        other => panic!("{other} has no check digit"),
    }
}

const CHECKSUMMED: [IdentifierKind; 6] = [
    IdentifierKind::Fnr,
    IdentifierKind::Duf,
    IdentifierKind::Orgnr,
    IdentifierKind::Mva,
    IdentifierKind::Kontonr,
    IdentifierKind::Iban,
];

proptest! {
    #[test]
    fn generated_fnr_validates_with_its_variant_and_rule((variant, rule, seed) in fnr_strategy()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let generated = synth::fodselsnummer(&mut rng, variant, rule);
        let number = Fodselsnummer::parse(&generated).unwrap();
        prop_assert_eq!(number.variant(), variant);
        prop_assert_eq!(number.checksum_rule(), rule);
        prop_assert_eq!(number.as_str(), generated.as_str());
        prop_assert_eq!(number.birth_date().is_some(), variant != FnrVariant::FhNummer);
        prop_assert_eq!(reference_fnr(&generated), Some((variant.as_str(), rule.as_str())));
        // The spaced form parses to the same number.
        let spaced = format!("{} {}", &generated[..6], &generated[6..]);
        prop_assert_eq!(Fodselsnummer::parse(&spaced).unwrap(), number);
        // The digits path agrees with the string path.
        let digits: [u8; 11] = generated.as_bytes().try_into().unwrap();
        prop_assert_eq!(synth::fodselsnummer_digits(&mut StdRng::seed_from_u64(seed), variant, rule), digits);
    }

    #[test]
    fn any_single_digit_change_of_a_fnr_is_caught_by_k2((variant, rule, seed) in fnr_strategy()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let generated = synth::fodselsnummer_digits(&mut rng, variant, rule);
        for position in 0..11 {
            for delta in 1..=9u8 {
                let mut changed = generated;
                changed[position] = b'0' + (changed[position] - b'0' + delta) % 10;
                // K2 weights are all non-zero mod 11 and a digit changes by -9..=9, never a
                // multiple of 11: the K2 equation fails for any change in digits 1–10, and a
                // change in digit 11 fails it directly.
                prop_assert!(!reference_k2_holds(&changed));
                let error = Fodselsnummer::from_digits(&changed).unwrap_err();
                prop_assert!(
                    matches!(error, IdError::FirstCheckDigit | IdError::SecondCheckDigit),
                    "{:?}", error
                );
            }
        }
    }

    #[test]
    fn any_single_digit_change_of_a_checksummed_number_is_rejected(
        kind in prop::sample::select(CHECKSUMMED.to_vec()),
        seed in any::<u64>(),
    ) {
        let value = checksummed(kind, seed);
        prop_assert!(id::check(kind, &value).is_ok(), "{} {}", kind, value);
        for (position, byte) in value.bytes().enumerate() {
            if !byte.is_ascii_digit() {
                continue;
            }
            for delta in 1..=9u8 {
                let mut changed = value.clone().into_bytes();
                changed[position] = b'0' + (byte - b'0' + delta) % 10;
                let changed = String::from_utf8(changed).unwrap();
                prop_assert!(id::check(kind, &changed).is_err(), "{} {} accepted", kind, changed);
            }
        }
    }

    #[test]
    fn fnr_agrees_with_the_reference_on_numbers_with_valid_check_digits(
        first_nine in "[0-9]{9}",
        residue in 0u32..4,
    ) {
        // Random dates and individual numbers with check digits that pass: exercises the date
        // and variant rules far more than random 11-digit strings would.
        if let Some(number) = with_check_digits(&first_nine, residue) {
            let ours = Fodselsnummer::parse(&number)
                .ok()
                .map(|f| (f.variant().as_str(), f.checksum_rule().as_str()));
            prop_assert_eq!(ours, reference_fnr(&number), "{}", number);
        }
    }

    #[test]
    fn fnr_agrees_with_the_reference_on_random_digits(number in "[0-9]{11}") {
        let ours = Fodselsnummer::parse(&number)
            .ok()
            .map(|f| (f.variant().as_str(), f.checksum_rule().as_str()));
        prop_assert_eq!(ours, reference_fnr(&number));
    }

    #[test]
    fn from_digits_agrees_with_parse(number in "[0-9]{11}", orgnr in "[0-9]{9}") {
        let digits: [u8; 11] = number.as_bytes().try_into().unwrap();
        prop_assert_eq!(Fodselsnummer::from_digits(&digits), Fodselsnummer::parse(&number));
        prop_assert_eq!(Kontonummer::from_digits(&digits), Kontonummer::parse(&number));
        let digits: [u8; 9] = orgnr.as_bytes().try_into().unwrap();
        prop_assert_eq!(Organisasjonsnummer::from_digits(&digits), Organisasjonsnummer::parse(&orgnr));
    }

    #[test]
    fn formatted_forms_parse_back(seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let konto = Kontonummer::parse(&synth::kontonummer(&mut rng)).unwrap();
        prop_assert_eq!(Kontonummer::parse(&konto.formatted()).unwrap(), konto);
        prop_assert_eq!(Kontonummer::parse(&konto.formatted().replace('.', " ")).unwrap(), konto);
        let iban = Iban::from_kontonummer(&konto);
        prop_assert_eq!(Iban::parse(&iban.formatted()).unwrap(), iban);
        let orgnr = Organisasjonsnummer::parse(&synth::orgnr(&mut rng)).unwrap();
        prop_assert_eq!(Organisasjonsnummer::parse(&orgnr.formatted()).unwrap(), orgnr);
        let phone = PhoneNumber::parse(&synth::phone(&mut rng, PhoneVariant::Mobile)).unwrap();
        prop_assert_eq!(PhoneNumber::parse(&phone.e164()).unwrap(), phone);
        prop_assert_eq!(phone.variant(), PhoneVariant::Mobile);
    }

    #[test]
    fn generated_phone_numbers_have_their_variant(seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        for variant in [PhoneVariant::Mobile, PhoneVariant::Landline, PhoneVariant::Other] {
            let number = synth::phone(&mut rng, variant);
            prop_assert_eq!(PhoneNumber::parse(&number).unwrap().variant(), variant);
        }
    }

    #[test]
    fn debug_never_shows_the_value(kind in prop::sample::select(IdentifierKind::ALL.to_vec()), seed in any::<u64>()) {
        let value = synth::valid(&mut StdRng::seed_from_u64(seed), kind);
        let identifier = id::check(kind, &value).unwrap();
        let debug = format!("{identifier:?} {:#?}", identifier);
        prop_assert!(!debug.contains(identifier.as_str()), "{}", debug);
        prop_assert!(!debug.contains(value.as_str()), "{}", debug);
    }

    #[test]
    fn errors_never_echo_the_input(kind in prop::sample::select(CHECKSUMMED.to_vec()), seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let value = checksummed(kind, seed);
        let changed = synth::with_one_digit_changed(&mut rng, &value);
        let message = id::check(kind, &changed).unwrap_err().to_string();
        let digits: String = changed.chars().filter(char::is_ascii_digit).collect();
        // No run of four or more of the input's digits appears in the message.
        for window in digits.as_bytes().windows(4) {
            let window = std::str::from_utf8(window).unwrap();
            prop_assert!(!message.contains(window), "{} in {:?}", window, message);
        }
    }

    #[test]
    fn check_never_panics(kind in prop::sample::select(IdentifierKind::ALL.to_vec()), input in "\\PC{0,40}") {
        let _ = id::check(kind, &input);
    }

    #[test]
    fn check_never_panics_on_near_misses(
        kind in prop::sample::select(IdentifierKind::ALL.to_vec()),
        input in "(\\+47|0047|NO|no)?[0-9 .\\-@a-zA-Zæøå]{0,20}(MVA)?",
    ) {
        let _ = id::check(kind, &input);
    }
}

// ---------------------------------------------------------------------------------------------
// An independent reference implementation, written from PRODUCT.md §3 in a different style
// (strings, jiff for the calendar), to compare the optimised one against.

const REF_K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const REF_K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

fn ref_digits(s: &str) -> Vec<u32> {
    s.chars().map(|c| c.to_digit(10).unwrap()).collect()
}

fn ref_sum(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// `(variant label, rule label)` if `s` (11 digits) is valid.
fn reference_fnr(s: &str) -> Option<(&'static str, &'static str)> {
    let d = ref_digits(s);
    let rule = match (ref_sum(&d[..9], &REF_K1) + d[9]) % 11 {
        0 => "classic",
        1..=3 => "2032",
        _ => return None,
    };
    if !(ref_sum(&d[..10], &REF_K2) + d[10]).is_multiple_of(11) {
        return None;
    }
    if d[0] >= 8 {
        return Some(("fh-nummer", rule));
    }
    let (mut day, mut month, year) = (d[0] * 10 + d[1], d[2] * 10 + d[3], d[4] * 10 + d[5]);
    let d_nummer = day > 40;
    if d_nummer {
        day -= 40;
    }
    let month_kind = match month {
        1..=12 => "",
        41..=52 => "h",
        81..=92 => "tenor",
        _ => return None,
    };
    month %= 40;
    let variant = match (d_nummer, month_kind) {
        (false, "") => "fodselsnummer",
        (true, "") => "d-nummer",
        (false, "h") => "h-nummer",
        (false, _) => "tenor",
        (true, "tenor") => "tenor-d-nummer",
        _ => return None,
    };
    let exists = [1800, 1900, 2000].iter().any(|century| {
        jiff::civil::Date::new(century + year as i16, month as i8, day as i8).is_ok()
    });
    exists.then_some((variant, rule))
}

fn reference_k2_holds(d: &[u8; 11]) -> bool {
    let d: Vec<u32> = d.iter().map(|b| u32::from(b - b'0')).collect();
    (ref_sum(&d[..10], &REF_K2) + d[10]).is_multiple_of(11)
}

/// Appends K1 (with `(S1 + K1) mod 11 == residue`) and the classic K2; `None` if either would
/// be 10.
fn with_check_digits(first_nine: &str, residue: u32) -> Option<String> {
    let mut d = ref_digits(first_nine);
    let k1 = (residue + 11 - ref_sum(&d, &REF_K1) % 11) % 11;
    if k1 == 10 {
        return None;
    }
    d.push(k1);
    let k2 = (11 - ref_sum(&d, &REF_K2) % 11) % 11;
    if k2 == 10 {
        return None;
    }
    Some(format!("{first_nine}{k1}{k2}"))
}

/// The nine digits with a given K1 and the K2 that matches it, if there is one.
fn with_check_digits_k1(first_nine: &str, k1: u32) -> Option<String> {
    let mut d = ref_digits(first_nine);
    d.push(k1);
    let k2 = (11 - ref_sum(&d, &REF_K2) % 11) % 11;
    (k2 < 10).then(|| format!("{first_nine}{k1}{k2}"))
}

/// The IBAN check number for a Norwegian account, computed with big-integer-free long division.
fn reference_iban_check(account: &str) -> u32 {
    // Rearranged: account + "NO" as 23 24 + "00".
    let rearranged = format!("{account}232400");
    let remainder = rearranged.chars().fold(0u64, |acc, c| {
        (acc * 10 + u64::from(c.to_digit(10).unwrap())) % 97
    });
    98 - remainder as u32
}
