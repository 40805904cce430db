//! A labelled synthetic Norwegian corpus, for measuring the detector's precision and recall
//! and for benchmarking it on realistic text.
//!
//! Records are short municipal texts (case notes, invoices, contact lines, addresses) with
//! identifiers at known spans, mixed with distractors that a careless detector would report:
//! dates, amounts, invoice, KID, case and order numbers (which pass a mod-11 check as often as
//! chance allows), numbers that fail their checksum, kontonumre that happen to look like
//! dates, and identifiers buried in longer digit runs. Persons' national ids are Tenor
//! synthetic numbers or made-up ones; nothing here is real.
//!
//! A label whose digits validate as both fødselsnummer and kontonummer, written bare (no
//! context word, no grouping that tells), accepts either kind: nothing in the text decides.
//! [`Evaluation`] counts such labels separately.

use std::fmt;

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::id::{
    ChecksumRule, FnrVariant, Fodselsnummer, IdentifierKind, Kontonummer, PhoneVariant, synth,
};

use super::context::kind_index;
use super::detector::Detector;
use super::finding::{Finding, Variant};

/// One labelled identifier in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    /// The kind the generator wrote.
    pub kind: IdentifierKind,
    /// The fødselsnummer variant, for fødselsnummer labels.
    pub variant: Option<FnrVariant>,
    /// Byte offset of the identifier in the record's text.
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
    /// Another kind that counts as correct, when the text cannot tell the two apart.
    pub also_accepted: Option<IdentifierKind>,
}

/// One record: a short text and the identifiers in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The text.
    pub text: String,
    /// The identifiers in it, by start offset.
    pub labels: Vec<Label>,
}

/// Generates `count` records, `identifier_share` of them (0–1) built around identifiers and
/// the rest distractors or plain text. Deterministic for a seeded `rng`.
pub fn generate<R: Rng + ?Sized>(rng: &mut R, count: usize, identifier_share: f64) -> Vec<Record> {
    let share = identifier_share.clamp(0.0, 1.0);
    (0..count)
        .map(|_| {
            let mut record = Record::default();
            let template = if rng.random_bool(share) {
                POSITIVE.choose(rng)
            } else if rng.random_bool(0.6) {
                DISTRACTOR.choose(rng)
            } else {
                PLAIN.choose(rng)
            };
            if let Some(template) = template {
                expand(rng, template, &mut record);
            }
            record
        })
        .collect()
}

/// Precision and recall of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Labels of this kind.
    pub labels: usize,
    /// Labels of this kind that a finding of an accepted kind matched exactly.
    pub found: usize,
    /// Findings of this kind.
    pub findings: usize,
    /// Findings of this kind that matched a label accepting this kind.
    pub correct: usize,
}

impl KindCounts {
    /// found / labels (1 when there were no labels).
    pub fn recall(&self) -> f64 {
        ratio(self.found, self.labels)
    }

    /// correct / findings (1 when there were no findings).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.findings)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// The detector's results on a corpus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Records evaluated.
    pub records: usize,
    /// Counts per kind, indexed like [`IdentifierKind::ALL`].
    pub per_kind: [KindCounts; 9],
    /// Labels that accepted two kinds (bare numbers valid as both fødselsnummer and
    /// kontonummer).
    pub ambiguous: usize,
    /// Of those, how many the detector reported as fødselsnummer.
    pub ambiguous_as_fnr: usize,
    /// Fødselsnummer findings matched to a label whose variant differed.
    pub wrong_variant: usize,
}

impl Evaluation {
    /// The counts of one kind.
    pub fn kind(&self, kind: IdentifierKind) -> KindCounts {
        self.per_kind[kind_index(kind)]
    }

    /// All kinds together.
    pub fn overall(&self) -> KindCounts {
        self.per_kind
            .iter()
            .fold(KindCounts::default(), |sum, k| KindCounts {
                labels: sum.labels + k.labels,
                found: sum.found + k.found,
                findings: sum.findings + k.findings,
                correct: sum.correct + k.correct,
            })
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| kind | labels | findings | precision | recall |")?;
        writeln!(f, "|---|---:|---:|---:|---:|")?;
        let rows = IdentifierKind::ALL
            .iter()
            .map(|kind| (kind.as_str(), self.kind(*kind)))
            .chain(std::iter::once(("overall", self.overall())));
        for (name, counts) in rows {
            writeln!(
                f,
                "| {name} | {} | {} | {:.4} | {:.4} |",
                counts.labels,
                counts.findings,
                counts.precision(),
                counts.recall()
            )?;
        }
        writeln!(
            f,
            "\n{} records; {} bare numbers valid as both fnr and kontonr (reported as fnr: {}); \
             {} fnr findings with the wrong variant",
            self.records, self.ambiguous, self.ambiguous_as_fnr, self.wrong_variant
        )
    }
}

/// Runs `detector` over `records` and counts exact-span matches per kind.
pub fn evaluate(detector: &Detector, records: &[Record]) -> Evaluation {
    let mut evaluation = Evaluation {
        records: records.len(),
        ..Evaluation::default()
    };
    let mut findings: Vec<Finding> = Vec::new();
    for record in records {
        detector.detect(&record.text, &mut findings);
        for label in &record.labels {
            let accepts =
                |kind: IdentifierKind| kind == label.kind || Some(kind) == label.also_accepted;
            evaluation.per_kind[kind_index(label.kind)].labels += 1;
            let hit = findings
                .iter()
                .find(|f| f.start == label.start && f.end == label.end && accepts(f.kind));
            if let Some(hit) = hit {
                evaluation.per_kind[kind_index(label.kind)].found += 1;
                if label.also_accepted.is_some() && hit.kind == IdentifierKind::Fnr {
                    evaluation.ambiguous_as_fnr += 1;
                }
                if let (Some(Variant::Fnr { variant, .. }), Some(expected)) =
                    (hit.variant, label.variant)
                    && variant != expected
                {
                    evaluation.wrong_variant += 1;
                }
            }
            if label.also_accepted.is_some() {
                evaluation.ambiguous += 1;
            }
        }
        for finding in &findings {
            let counts = &mut evaluation.per_kind[kind_index(finding.kind)];
            counts.findings += 1;
            let correct = record.labels.iter().any(|l| {
                l.start == finding.start
                    && l.end == finding.end
                    && (l.kind == finding.kind || l.also_accepted == Some(finding.kind))
            });
            if correct {
                counts.correct += 1;
            }
        }
    }
    evaluation
}

/// Whether a template's identifiers have a context word or not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A word near each identifier says what it is.
    Labelled,
    /// No context word: only checksums and formatting tell.
    Bare,
}

struct Template {
    text: &'static str,
    context: Context,
}

const fn labelled(text: &'static str) -> Template {
    Template {
        text,
        context: Context::Labelled,
    }
}

const fn bare(text: &'static str) -> Template {
    Template {
        text,
        context: Context::Bare,
    }
}

/// Templates built around identifiers. `{slot}`s are filled by [`fill`].
const POSITIVE: &[Template] = &[
    labelled("Søkers fødselsnummer er {fnr}."),
    labelled("Fnr: {fnr}"),
    labelled("Barnets fnr {fnr} er registrert."),
    labelled("Personnummer {fnr}, se vedlagt søknad."),
    labelled("D-nummer: {fnr}"),
    labelled("Pasientens f.nr. {fnr} er bekreftet av lege."),
    labelled("National identity number: {fnr}"),
    labelled("{fnr} (fødselsnummer) er oppgitt av verge."),
    labelled("Vedtaket gjelder {name}, født {date}, fnr {fnr}."),
    labelled("Fødselsnr. {fnr} – klage mottatt {date}."),
    labelled("Test-fnr fra Tenor: {fnr}"),
    bare("Gjelder {name}, {fnr}."),
    bare("{name} {fnr}"),
    bare("Søker: {name} ({fnr_grouped})"),
    labelled("Utbetaling til konto {konto}."),
    labelled("Kontonummer: {konto}"),
    labelled("Beløpet overføres til kontonr. {konto} innen {date}."),
    labelled("Bankkonto {konto} tilhører søker."),
    labelled("Account number {konto}"),
    labelled("Kto. {konto_datelike}"),
    labelled("Vennligst betal til {konto} innen fristen."),
    labelled("Nytt kontonummer {konto_datelike} fra {date}."),
    labelled("Refusjon utbetales til konto {konto_datelike}."),
    bare("{name}, {konto}"),
    bare("Mottaker {name}: {konto_grouped}"),
    labelled("Org.nr. {orgnr}"),
    labelled("Leverandør {company} (org.nr {orgnr})"),
    labelled("Organisasjonsnummer: {orgnr}"),
    labelled("Foretaksnummer {orgnr} i Enhetsregisteret."),
    bare("{company} {orgnr}"),
    labelled("MVA-nummer: {mva}"),
    bare("{company}, {mva}"),
    bare("Fakturautsteder {mva}"),
    labelled("IBAN: {iban}"),
    labelled("Betal til IBAN {iban} (SWIFT DNBANOKK)."),
    bare("Mottakerkonto {iban}"),
    labelled("Tlf. {phone}"),
    labelled("Ring {phone} for å bestille time."),
    labelled("Mobil: {phone}"),
    labelled("Kontakt {name} på telefon {phone}."),
    labelled("Phone: {phone}"),
    labelled("Send SMS til {phone}."),
    bare("{name} {phone_strong}"),
    bare("Vakttelefon døgnet rundt {phone_strong}"),
    labelled("E-post: {email}"),
    labelled("Send svar til {email}."),
    bare("{name} <{email}>"),
    bare("Kopi: {email}"),
    labelled("Adresse: {street}, {postnr} {place}"),
    bare("{name}, {street}, {postnr} {place}"),
    labelled("Postnr. {postnr}"),
    labelled("Postnummer {postnr} {place}"),
    labelled("DUF-nummer {duf}"),
    labelled("Søkerens DUF {duf} er registrert hos UDI."),
    labelled("Fnr {fnr}, tlf {phone}"),
    labelled("{name}, fnr {fnr}, e-post {email}"),
    labelled("Org.nr {orgnr}, konto {konto}"),
    labelled("Kontonr {konto}, fnr {fnr}"),
    labelled("Fødselsnummer {fnr} og kontonummer {konto}."),
    labelled("Fnr: {fnr}. Faktura {invoice} gjelder {date}."),
    labelled("Mobil {phone}, e-post {email}"),
];

/// Templates with numbers that are not identifiers (or not valid ones).
const DISTRACTOR: &[Template] = &[
    bare("Møtet holdes {date} kl. {time} i rådhuset."),
    bare("Faktura {invoice} forfaller {date}."),
    bare("Fakturanr. {invoice11}"),
    bare("Fakturanummer {invoice9} gjelder {date}."),
    bare("Beløp: kr {amount}"),
    bare("Totalt {amount} kr inkl. mva."),
    bare("KID {kid}"),
    bare("Betal med KID-nummer {kid} innen {date}."),
    bare("Saksnr. {case}"),
    bare("Vår ref.: {case}, deres ref.: {case}"),
    bare("Arkivsak {case} ble avsluttet {date}."),
    bare("Ordrenummer {invoice8}"),
    bare("Kundenummer {invoice11} er oppdatert."),
    bare("Søknaden ble mottatt {date} og behandles innen {small} dager."),
    bare("Gnr. {small} bnr. {small} i {place}."),
    bare("Kode {bad11} ble avvist."),
    bare("Referansenummer {bad9}"),
    bare("Oppgitt fnr {fnr_bad} er ugyldig."),
    bare("Fnr {fnr_bad_date} finnes ikke i Folkeregisteret."),
    bare("Org.nr {orgnr_bad} er ikke gyldig."),
    bare("IBAN {iban_bad} har feil kontrollsiffer."),
    bare("Serienummer {invoice11}"),
    bare("Løpenummer {long_run}"),
    bare("Frist {compact_date} for innsending."),
    bare("Budsjett {year}: {amount} kr."),
    bare("Versjon {small}.{small}.{small} ble tatt i bruk {date}."),
    bare("Klokken {time} den {date}."),
    bare("Journalpost {case} registrert."),
    bare("Kode {bad12} er sperret."),
    bare("Telefonnummeret {phone_impossible} er ikke i bruk."),
    bare("Side {small} av {small}."),
];

/// Templates without numbers.
const PLAIN: &[Template] = &[
    bare("Vi viser til søknad om barnehageplass."),
    bare("Kommunen har mottatt klagen og behandler den snarest."),
    bare("Vedtaket kan påklages til Statsforvalteren."),
    bare("Søker ønsker plass i nærmeste barnehage."),
    bare("Saken oversendes til rådmannens kontor for vurdering."),
    bare("Brukeren har fått innvilget hjemmetjenester."),
    bare("Søknaden er komplett og klar til behandling."),
    bare("Foreldrene ønsker et møte med helsesykepleier."),
    bare("Dokumentasjon mangler: lønnsslipp og skattemelding."),
    bare("Eleven har rett til spesialundervisning etter opplæringsloven."),
];

const GIVEN: &[&str] = &[
    "Ola", "Kari", "Per", "Anne", "Jon", "Ingrid", "Lars", "Marit", "Øyvind", "Åse", "Bjørn",
    "Sigrid", "Håkon", "Solveig", "Emil", "Nora", "Jørgen", "Sofie", "Mohammed", "Aisha",
];
const FAMILY: &[&str] = &[
    "Nordmann",
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Sæther",
    "Bråten",
    "Løken",
    "Ødegård",
    "Ali",
];
const COMPANIES: &[&str] = &[
    "Bygg og Anlegg AS",
    "Fjordkraft AS",
    "Rørlegger Hansen AS",
    "Nordlys Regnskap",
    "Kommunerevisjonen IKS",
    "Bakeriet på hjørnet",
    "Vestland Taxi AS",
    "Ås Elektro",
];
const STREETS: &[&str] = &[
    "Storgata",
    "Kirkeveien",
    "Skolegata",
    "Fjellveien",
    "Bjørkeveien",
    "Åsveien",
    "Strandgata",
    "Kongens gate",
    "Dronningens gate",
    "Ringveien",
];
const PLACES: &[&str] = &[
    "Oslo",
    "Bergen",
    "Trondheim",
    "Stavanger",
    "Tromsø",
    "Ålesund",
    "Bodø",
    "Lillestrøm",
    "Drammen",
    "Kristiansand",
    "Hønefoss",
    "Førde",
];
const DOMAINS: &[&str] = &[
    "kommune.no",
    "nav.no",
    "gmail.com",
    "online.no",
    "hotmail.com",
    "skole.no",
    "firma.no",
    "bergen.kommune.no",
];
const MONTHS: &[&str] = &[
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

/// Fills a template into `record`.
fn expand<R: Rng + ?Sized>(rng: &mut R, template: &Template, record: &mut Record) {
    let mut rest = template.text;
    while let Some(open) = rest.find('{') {
        record.text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            record.text.push_str(&rest[open..]);
            return;
        };
        fill(rng, &after[..close], template.context, record);
        rest = &after[close + 1..];
    }
    record.text.push_str(rest);
}

/// How a number is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Digits only: nothing in the writing says which kind it is.
    Plain,
    /// Grouped the way its kind is printed.
    Grouped,
}

fn fill<R: Rng + ?Sized>(rng: &mut R, slot: &str, context: Context, record: &mut Record) {
    let start = record.text.len();
    let text = &mut record.text;
    let labelled = |record: &mut Record, kind, variant, also| {
        let end = record.text.len();
        record.labels.push(Label {
            kind,
            variant,
            start,
            end,
            also_accepted: also,
        });
    };
    match slot {
        "fnr" | "fnr_grouped" => {
            let variant = pick_fnr_variant(rng);
            let rule = if rng.random_bool(0.1) {
                ChecksumRule::Rule2032
            } else {
                ChecksumRule::Classic
            };
            let digits = synth::fodselsnummer_digits(rng, variant, rule);
            let written = if slot == "fnr_grouped" || rng.random_bool(0.3) {
                Written::Grouped
            } else {
                Written::Plain
            };
            push_grouped(
                text,
                &digits,
                if written == Written::Grouped {
                    &[6]
                } else {
                    &[]
                },
                ' ',
            );
            // A bare, plain number valid as both: the text cannot tell.
            let also = (context == Context::Bare && written == Written::Plain)
                .then_some(IdentifierKind::Kontonr);
            labelled(record, IdentifierKind::Fnr, Some(variant), also);
        }
        "konto" | "konto_grouped" | "konto_datelike" => {
            let digits = if slot == "konto_datelike" {
                date_like_kontonummer(rng)
            } else {
                synth::kontonummer_digits(rng)
            };
            let grouped = slot == "konto_grouped" || rng.random_bool(0.5);
            if grouped {
                let separator = if rng.random_bool(0.5) { '.' } else { ' ' };
                push_grouped(text, &digits, &[4, 6], separator);
            } else {
                push_grouped(text, &digits, &[], ' ');
            }
            let ambiguous =
                context == Context::Bare && !grouped && Fodselsnummer::from_digits(&digits).is_ok();
            labelled(
                record,
                IdentifierKind::Kontonr,
                None,
                ambiguous.then_some(IdentifierKind::Fnr),
            );
        }
        "orgnr" => {
            let digits = synth::orgnr_digits(rng);
            let at: &[usize] = if rng.random_bool(0.5) { &[3, 6] } else { &[] };
            push_grouped(text, &digits, at, ' ');
            labelled(record, IdentifierKind::Orgnr, None, None);
        }
        "mva" => {
            let digits = synth::orgnr_digits(rng);
            match rng.random_range(0..4) {
                0 => {
                    text.push_str("NO");
                    push_grouped(text, &digits, &[], ' ');
                    text.push_str("MVA");
                }
                1 => {
                    text.push_str("NO ");
                    push_grouped(text, &digits, &[3, 6], ' ');
                    text.push_str(" MVA");
                }
                2 => {
                    text.push_str("NO ");
                    push_grouped(text, &digits, &[], ' ');
                    text.push_str(" MVA");
                }
                _ => {
                    text.push_str("NO");
                    push_grouped(text, &digits, &[], ' ');
                    text.push_str(" MVA");
                }
            }
            labelled(record, IdentifierKind::Mva, None, None);
        }
        "iban" => {
            let iban = synth::iban(rng);
            if rng.random_bool(0.5) {
                text.push_str(&iban);
            } else {
                push_grouped(text, iban.as_bytes(), &[4, 8, 12], ' ');
            }
            labelled(record, IdentifierKind::Iban, None, None);
        }
        "phone" | "phone_strong" => {
            let variant = if rng.random_bool(0.7) {
                PhoneVariant::Mobile
            } else {
                PhoneVariant::Landline
            };
            let national = synth::phone(rng, variant);
            let styles: &[u8] = match (slot, variant) {
                // Without context, a plain landline number is not reported (see the docs).
                ("phone_strong", PhoneVariant::Landline) => &[1, 2, 3, 4, 5, 6],
                _ => &[0, 1, 2, 3, 4, 5, 6],
            };
            let style = styles.choose(rng).copied().unwrap_or(0);
            write_phone(text, national.as_bytes(), style);
            labelled(record, IdentifierKind::Phone, None, None);
        }
        "email" => {
            let given = GIVEN.choose(rng).copied().unwrap_or("ola");
            let family = FAMILY.choose(rng).copied().unwrap_or("nordmann");
            let domain = DOMAINS.choose(rng).copied().unwrap_or("kommune.no");
            match rng.random_range(0..3) {
                0 => text.push_str(&format!(
                    "{}.{}@{domain}",
                    given.to_lowercase(),
                    family.to_lowercase()
                )),
                1 => text.push_str(&format!(
                    "{}{}@{domain}",
                    given.to_lowercase(),
                    rng.random_range(1..99)
                )),
                _ => text.push_str(&format!(
                    "{}_{}@{domain}",
                    given.to_lowercase(),
                    family.to_lowercase()
                )),
            }
            labelled(record, IdentifierKind::Email, None, None);
        }
        "postnr" => {
            text.push_str(&synth::postnummer(rng));
            labelled(record, IdentifierKind::Postnummer, None, None);
        }
        "duf" => {
            let duf = synth::duf(rng);
            let at: &[usize] = if rng.random_bool(0.5) { &[4, 10] } else { &[] };
            push_grouped(text, duf.as_bytes(), at, ' ');
            labelled(record, IdentifierKind::Duf, None, None);
        }
        other => distractor(rng, other, text),
    }
}

/// Unlabelled slots.
fn distractor<R: Rng + ?Sized>(rng: &mut R, slot: &str, text: &mut String) {
    match slot {
        "name" => {
            let given = GIVEN.choose(rng).copied().unwrap_or("Ola");
            let family = FAMILY.choose(rng).copied().unwrap_or("Nordmann");
            text.push_str(given);
            text.push(' ');
            text.push_str(family);
        }
        "company" => text.push_str(COMPANIES.choose(rng).copied().unwrap_or("Firma AS")),
        "street" => {
            let street = STREETS.choose(rng).copied().unwrap_or("Storgata");
            let number = rng.random_range(1..150);
            text.push_str(&format!("{street} {number}"));
            if rng.random_bool(0.2) {
                text.push('B');
            }
        }
        "place" => text.push_str(PLACES.choose(rng).copied().unwrap_or("Oslo")),
        "date" => {
            let (d, m, y) = (
                rng.random_range(1..=28),
                rng.random_range(1..=12),
                rng.random_range(1950..=2030),
            );
            match rng.random_range(0..5) {
                0 => text.push_str(&format!("{d:02}.{m:02}.{y}")),
                1 => text.push_str(&format!("{y}-{m:02}-{d:02}")),
                2 => text.push_str(&format!("{d}. {} {y}", MONTHS[(m - 1) as usize])),
                3 => text.push_str(&format!("{d:02}/{m:02}/{:02}", y % 100)),
                _ => text.push_str(&format!("{d:02}.{m:02}.{:02}", y % 100)),
            }
        }
        "compact_date" => {
            let (d, m, y) = (
                rng.random_range(1..=28),
                rng.random_range(1..=12),
                rng.random_range(1990..=2030),
            );
            text.push_str(&format!("{y}{m:02}{d:02}"));
        }
        "time" => {
            let (h, min) = (rng.random_range(7..=22), rng.random_range(0..4) * 15);
            if rng.random_bool(0.5) {
                text.push_str(&format!("{h:02}.{min:02}"));
            } else {
                text.push_str(&format!("{h:02}:{min:02}"));
            }
        }
        "amount" => {
            let value: u32 = rng.random_range(100..5_000_000);
            let thousands = value / 1000;
            let rest = value % 1000;
            match rng.random_range(0..3) {
                0 if thousands > 0 => text.push_str(&format!("{thousands} {rest:03}")),
                1 => text.push_str(&format!("{value},{:02}", rng.random_range(0..100))),
                _ => text.push_str(&value.to_string()),
            }
        }
        "invoice" => {
            let count = rng.random_range(5..=11);
            push_random_digits(rng, text, count);
        }
        "invoice8" => push_random_digits(rng, text, 8),
        "invoice9" => push_random_digits(rng, text, 9),
        "invoice11" => push_random_digits(rng, text, 11),
        "kid" => {
            let count = rng.random_range(7..=15);
            push_random_digits(rng, text, count);
        }
        "case" => {
            let year = rng.random_range(2015..=2026);
            match rng.random_range(0..3) {
                0 => text.push_str(&format!("{year}/{}", rng.random_range(100..99_999))),
                1 => text.push_str(&format!(
                    "{:02}/{}-{}",
                    year % 100,
                    rng.random_range(100..9999),
                    rng.random_range(1..20)
                )),
                _ => text.push_str(&format!("{year}{:05}", rng.random_range(0..99_999))),
            }
        }
        "small" => text.push_str(&rng.random_range(1..200).to_string()),
        "year" => text.push_str(&rng.random_range(1990..=2030).to_string()),
        "bad11" => push_digits(text, &failing_kontonummer(rng)),
        "bad9" => loop {
            let mut digits = [b'0'; 9];
            fill_random(rng, &mut digits);
            let orgnr_ok = crate::id::Organisasjonsnummer::from_digits(&digits).is_ok();
            if !orgnr_ok {
                push_digits(text, &digits);
                break;
            }
        },
        "bad12" => loop {
            let mut digits = [b'0'; 12];
            fill_random(rng, &mut digits);
            if crate::id::DufNummer::from_digits(&digits).is_err() && !digits.starts_with(b"0047") {
                push_digits(text, &digits);
                break;
            }
        },
        "fnr_bad" => {
            // One digit changed: the check digits catch it (as fødselsnummer and kontonummer).
            let valid = synth::any_fodselsnummer(rng);
            let changed = synth::with_one_digit_changed(rng, &valid);
            let bytes = changed.as_bytes();
            let konto_ok =
                <[u8; 11]>::try_from(bytes).is_ok_and(|d| Kontonummer::from_digits(&d).is_ok());
            if konto_ok {
                push_digits(text, &failing_kontonummer(rng));
            } else {
                text.push_str(&changed);
            }
        }
        "fnr_bad_date" => {
            // Valid check digits, impossible date: a kontonummer, but no fødselsnummer; the
            // fnr context must not make it one, nor report it as an account.
            loop {
                let digits = synth::kontonummer_digits(rng);
                let month = (digits[2] - b'0') * 10 + (digits[3] - b'0');
                if Fodselsnummer::from_digits(&digits).is_err()
                    && digits[0] < b'8'
                    && (13..=40).contains(&month)
                {
                    push_digits(text, &digits);
                    break;
                }
            }
        }
        "orgnr_bad" => {
            let valid = synth::orgnr(rng);
            text.push_str(&synth::with_one_digit_changed(rng, &valid));
        }
        "iban_bad" => {
            let iban = synth::iban(rng);
            let changed = synth::with_one_digit_changed(rng, &iban);
            push_grouped(text, changed.as_bytes(), &[4, 8, 12], ' ');
        }
        "long_run" => {
            // A valid fødselsnummer buried in a longer run of digits.
            push_random_digits(rng, text, 2);
            push_digits(
                text,
                &synth::fodselsnummer_digits(rng, FnrVariant::Tenor, ChecksumRule::Classic),
            );
            push_random_digits(rng, text, 3);
        }
        "phone_impossible" => {
            text.push(if rng.random_bool(0.5) { '0' } else { '1' });
            push_random_digits(rng, text, 7);
        }
        _ => text.push_str(slot),
    }
}

fn pick_fnr_variant<R: Rng + ?Sized>(rng: &mut R) -> FnrVariant {
    match rng.random_range(0..100) {
        0..50 => FnrVariant::Fodselsnummer,
        50..65 => FnrVariant::DNummer,
        65..70 => FnrVariant::HNummer,
        70..85 => FnrVariant::Tenor,
        85..93 => FnrVariant::TenorDNummer,
        _ => FnrVariant::FhNummer,
    }
}

/// A kontonummer that also passes every fødselsnummer check: its first digits read as a date.
fn date_like_kontonummer<R: Rng + ?Sized>(rng: &mut R) -> [u8; 11] {
    loop {
        let digits = synth::kontonummer_digits(rng);
        if Fodselsnummer::from_digits(&digits).is_ok() {
            return digits;
        }
    }
}

/// Eleven digits that fail the kontonummer check (and so every fødselsnummer check).
fn failing_kontonummer<R: Rng + ?Sized>(rng: &mut R) -> [u8; 11] {
    loop {
        let mut digits = [b'0'; 11];
        fill_random(rng, &mut digits);
        if Kontonummer::from_digits(&digits).is_err() {
            return digits;
        }
    }
}

fn fill_random<R: Rng + ?Sized>(rng: &mut R, digits: &mut [u8]) {
    for digit in digits.iter_mut() {
        *digit = b'0' + rng.random_range(0..10u8);
    }
}

fn push_random_digits<R: Rng + ?Sized>(rng: &mut R, text: &mut String, count: usize) {
    for _ in 0..count {
        text.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
}

fn push_digits(text: &mut String, digits: &[u8]) {
    text.extend(digits.iter().map(|&b| char::from(b)));
}

/// Pushes ASCII `chars`, with `separator` before the characters at the offsets in `at`.
fn push_grouped(text: &mut String, chars: &[u8], at: &[usize], separator: char) {
    for (index, &b) in chars.iter().enumerate() {
        if at.contains(&index) {
            text.push(separator);
        }
        text.push(char::from(b));
    }
}

/// Writes a phone number in one of seven common styles.
fn write_phone(text: &mut String, national: &[u8], style: u8) {
    match style {
        0 => push_digits(text, national),
        1 => push_grouped(text, national, &[3, 5], ' '),
        2 => push_grouped(text, national, &[2, 4, 6], ' '),
        3 => {
            text.push_str("+47 ");
            push_grouped(text, national, &[3, 5], ' ');
        }
        4 => {
            text.push_str("+47");
            push_digits(text, national);
        }
        5 => {
            text.push_str("0047 ");
            push_digits(text, national);
        }
        _ => {
            text.push_str("(+47) ");
            push_grouped(text, national, &[2, 4, 6], ' ');
        }
    }
}
