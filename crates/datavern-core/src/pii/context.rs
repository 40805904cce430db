//! Context words: the Norwegian and English labels that stand near identifiers in text
//! ("fødselsnummer", "kontonr.", "tlf", "org.nr", …) and the words that say a number is
//! something else ("fakturanr", "KID", "kr", …).
//!
//! The words are matched with one Aho-Corasick automaton, ASCII-case-insensitively, and only in
//! a window around a candidate number, so text without candidates never pays for it. Letters
//! outside ASCII (æ, ø, å) are matched in both cases by listing each spelling.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::id::IdentifierKind;

/// What a context word says about a nearby number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    /// The number is probably an identifier of this kind.
    Supports(IdentifierKind),
    /// The number is probably something else: an amount, an invoice or case number, a date.
    Against,
}

/// Where a context word must stand relative to the letters around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// A whole word: no letter directly before or after (`fnr`, `konto`, `tlf`).
    Word,
    /// The start of a word that may go on (`kontonummer` in `kontonummeret`).
    Prefix,
    /// Anywhere, also inside compounds (`kontonummer` in `bankkontonummer`): only for long,
    /// unambiguous words.
    Anywhere,
}

/// One context word.
struct Word {
    text: &'static str,
    cue: Cue,
    /// How strongly the word speaks for (or against) the kind, in (0, 1].
    strength: f32,
    boundary: Boundary,
}

const fn w(text: &'static str, kind: IdentifierKind, strength: f32, boundary: Boundary) -> Word {
    Word {
        text,
        cue: Cue::Supports(kind),
        strength,
        boundary,
    }
}

const fn against(text: &'static str, strength: f32, boundary: Boundary) -> Word {
    Word {
        text,
        cue: Cue::Against,
        strength,
        boundary,
    }
}

use Boundary::{Anywhere, Prefix, Word as WholeWord};
use IdentifierKind::{Duf, Email, Fnr, Iban, Kontonr, Mva, Orgnr, Phone, Postnummer};

/// The context words, lower case. `docs/pii-detection.md` lists them; keep the two in step.
const WORDS: &[Word] = &[
    // Fødselsnummer and its variants.
    w("fødselsnummer", Fnr, 1.0, Anywhere),
    w("fodselsnummer", Fnr, 1.0, Anywhere),
    w("foedselsnummer", Fnr, 1.0, Anywhere),
    w("fødselsnr", Fnr, 1.0, Anywhere),
    w("fodselsnr", Fnr, 1.0, Anywhere),
    w("fnr", Fnr, 1.0, WholeWord),
    w("f.nr", Fnr, 1.0, WholeWord),
    w("f-nr", Fnr, 1.0, WholeWord),
    w("personnummer", Fnr, 1.0, Anywhere),
    w("personnr", Fnr, 1.0, Prefix),
    w("pers.nr", Fnr, 1.0, WholeWord),
    w("pnr", Fnr, 0.6, WholeWord),
    w("d-nummer", Fnr, 1.0, Prefix),
    w("dnummer", Fnr, 1.0, Prefix),
    w("d-nr", Fnr, 1.0, WholeWord),
    w("h-nummer", Fnr, 1.0, Prefix),
    w("fh-nummer", Fnr, 1.0, Prefix),
    w("hjelpenummer", Fnr, 0.9, Anywhere),
    w("identitetsnummer", Fnr, 0.9, Anywhere),
    w("id-nummer", Fnr, 0.6, Prefix),
    w("personidentifikator", Fnr, 0.9, Prefix),
    w("folkeregister", Fnr, 0.6, Prefix),
    w("født", Fnr, 0.4, WholeWord),
    w("national id", Fnr, 0.9, WholeWord),
    w("national identity number", Fnr, 1.0, WholeWord),
    w("national identification number", Fnr, 1.0, WholeWord),
    w("personal identity number", Fnr, 1.0, WholeWord),
    w("personal number", Fnr, 0.8, WholeWord),
    w("birth number", Fnr, 1.0, WholeWord),
    w("ssn", Fnr, 0.6, WholeWord),
    w("social security", Fnr, 0.7, WholeWord),
    // DUF-nummer.
    w("duf", Duf, 1.0, WholeWord),
    w("duf-nummer", Duf, 1.0, Prefix),
    w("duf-nr", Duf, 1.0, WholeWord),
    w("dufnummer", Duf, 1.0, Prefix),
    w("udi", Duf, 0.5, WholeWord),
    w("utlendingsdirektoratet", Duf, 0.5, Prefix),
    // Organisasjonsnummer and MVA-nummer.
    w("organisasjonsnummer", Orgnr, 1.0, Anywhere),
    w("organisasjonsnr", Orgnr, 1.0, Anywhere),
    w("orgnr", Orgnr, 1.0, WholeWord),
    w("org.nr", Orgnr, 1.0, WholeWord),
    w("org. nr", Orgnr, 1.0, WholeWord),
    w("org nr", Orgnr, 1.0, WholeWord),
    w("org-nr", Orgnr, 1.0, WholeWord),
    w("org.nummer", Orgnr, 1.0, Prefix),
    w("foretaksnummer", Orgnr, 1.0, Prefix),
    w("foretaksnr", Orgnr, 1.0, Prefix),
    w("foretaksregisteret", Orgnr, 0.7, Prefix),
    w("enhetsregisteret", Orgnr, 0.7, Prefix),
    w("brønnøysund", Orgnr, 0.6, Prefix),
    w("brreg", Orgnr, 0.6, WholeWord),
    w("organisation number", Orgnr, 1.0, WholeWord),
    w("organization number", Orgnr, 1.0, WholeWord),
    w("org number", Orgnr, 1.0, WholeWord),
    w("company number", Orgnr, 0.8, WholeWord),
    w("mva", Mva, 1.0, WholeWord),
    w("mva-nummer", Mva, 1.0, Prefix),
    w("mva-nr", Mva, 1.0, WholeWord),
    w("mvanummer", Mva, 1.0, Prefix),
    w("merverdiavgift", Mva, 0.6, Prefix),
    w("vat", Mva, 0.8, WholeWord),
    // Kontonummer and IBAN.
    w("kontonummer", Kontonr, 1.0, Anywhere),
    w("kontonr", Kontonr, 1.0, Anywhere),
    w("konto", Kontonr, 1.0, WholeWord),
    w("kontoen", Kontonr, 1.0, WholeWord),
    w("kontoer", Kontonr, 0.8, WholeWord),
    w("bankkonto", Kontonr, 1.0, Prefix),
    w("brukskonto", Kontonr, 1.0, Prefix),
    w("lønnskonto", Kontonr, 1.0, Prefix),
    w("sparekonto", Kontonr, 1.0, Prefix),
    w("klientkonto", Kontonr, 1.0, Prefix),
    w("skattetrekkskonto", Kontonr, 1.0, Prefix),
    w("kto", Kontonr, 1.0, WholeWord),
    w("kto.nr", Kontonr, 1.0, WholeWord),
    w("ktonr", Kontonr, 1.0, WholeWord),
    w("account", Kontonr, 0.9, Prefix),
    w("acct", Kontonr, 0.9, WholeWord),
    w("bank", Kontonr, 0.6, WholeWord),
    w("banken", Kontonr, 0.5, WholeWord),
    w("bban", Kontonr, 1.0, WholeWord),
    w("betal til", Kontonr, 0.6, WholeWord),
    w("betales til", Kontonr, 0.6, WholeWord),
    w("overfør til", Kontonr, 0.6, WholeWord),
    w("overføres til", Kontonr, 0.6, WholeWord),
    w("utbetales til", Kontonr, 0.6, WholeWord),
    w("innbetaling", Kontonr, 0.5, Prefix),
    w("utbetaling", Kontonr, 0.5, Prefix),
    w("iban", Iban, 1.0, WholeWord),
    w("swift", Iban, 0.5, WholeWord),
    w("bic", Iban, 0.5, WholeWord),
    // Phone.
    w("telefon", Phone, 1.0, Anywhere),
    w("tlf", Phone, 1.0, WholeWord),
    w("tlf.nr", Phone, 1.0, WholeWord),
    w("tlfnr", Phone, 1.0, WholeWord),
    w("tel", Phone, 0.8, WholeWord),
    w("mobil", Phone, 1.0, Prefix),
    w("mob", Phone, 0.9, WholeWord),
    w("mobnr", Phone, 1.0, WholeWord),
    w("ring", Phone, 0.6, WholeWord),
    w("ringe", Phone, 0.6, WholeWord),
    w("ringes", Phone, 0.6, WholeWord),
    w("sms", Phone, 0.7, WholeWord),
    w("phone", Phone, 0.9, Prefix),
    w("telephone", Phone, 1.0, Prefix),
    w("mobile", Phone, 1.0, WholeWord),
    w("cell", Phone, 0.6, WholeWord),
    w("faks", Phone, 0.7, WholeWord),
    w("fax", Phone, 0.7, WholeWord),
    w("whatsapp", Phone, 0.6, WholeWord),
    // E-mail (the address's own shape is the main evidence).
    w("e-post", Email, 1.0, Prefix),
    w("epost", Email, 1.0, Prefix),
    w("email", Email, 1.0, Prefix),
    w("e-mail", Email, 1.0, Prefix),
    w("mail", Email, 0.6, WholeWord),
    // Postnummer (reported only with context: see the recognizer).
    w("postnummer", Postnummer, 1.0, Anywhere),
    w("postnr", Postnummer, 1.0, WholeWord),
    w("post nr", Postnummer, 1.0, WholeWord),
    w("postkode", Postnummer, 1.0, WholeWord),
    w("poststed", Postnummer, 0.8, Prefix),
    w("zip", Postnummer, 1.0, WholeWord),
    w("zip code", Postnummer, 1.0, WholeWord),
    w("zipcode", Postnummer, 1.0, WholeWord),
    w("postal code", Postnummer, 1.0, WholeWord),
    w("postcode", Postnummer, 1.0, WholeWord),
    w("adresse", Postnummer, 0.6, Anywhere),
    w("address", Postnummer, 0.6, WholeWord),
    // Words that say the number is something else.
    against("faktura", 1.0, Anywhere),
    against("fakt.nr", 1.0, WholeWord),
    against("invoice", 1.0, Prefix),
    against("kid", 1.0, WholeWord),
    against("kid-nummer", 1.0, Prefix),
    against("kid-nr", 1.0, WholeWord),
    against("ordre", 1.0, Prefix),
    against("ordrenr", 1.0, WholeWord),
    against("order", 0.9, Prefix),
    against("bestilling", 0.8, Prefix),
    against("bestillingsnr", 1.0, Prefix),
    against("saksnummer", 1.0, Anywhere),
    against("saksnr", 1.0, Anywhere),
    against("sak", 0.8, WholeWord),
    against("saken", 0.6, WholeWord),
    against("arkivsak", 1.0, Prefix),
    against("journalpost", 1.0, Prefix),
    against("jnr", 0.9, WholeWord),
    against("case", 0.8, WholeWord),
    against("referanse", 0.9, Prefix),
    against("ref", 0.9, WholeWord),
    against("ref.nr", 1.0, WholeWord),
    against("reference", 0.9, Prefix),
    against("kundenummer", 0.9, Anywhere),
    against("kundenr", 0.9, Anywhere),
    against("customer", 0.8, Prefix),
    against("avtalenummer", 0.9, Anywhere),
    against("avtalenr", 0.9, Anywhere),
    against("polisenummer", 0.9, Anywhere),
    against("serienummer", 1.0, Anywhere),
    against("serial", 1.0, Prefix),
    against("varenummer", 1.0, Anywhere),
    against("varenr", 1.0, Anywhere),
    against("artikkelnummer", 1.0, Anywhere),
    against("artikkelnr", 1.0, Anywhere),
    against("produktnummer", 1.0, Anywhere),
    against("lisens", 0.8, Prefix),
    against("license", 0.8, Prefix),
    against("løpenummer", 0.8, Anywhere),
    against("dokumentnummer", 0.8, Anywhere),
    against("dokumentnr", 0.8, Anywhere),
    against("transaksjon", 0.8, Prefix),
    against("transaction", 0.8, Prefix),
    against("sporingsnummer", 1.0, Anywhere),
    against("tracking", 1.0, Prefix),
    against("beløp", 1.0, Anywhere),
    against("belop", 1.0, Anywhere),
    against("kr", 1.0, WholeWord),
    against("kroner", 1.0, WholeWord),
    against("nok", 0.6, WholeWord),
    against("eur", 0.9, WholeWord),
    against("usd", 0.9, WholeWord),
    against("sum", 0.8, WholeWord),
    against("total", 0.8, Prefix),
    against("amount", 0.9, WholeWord),
    against("pris", 0.8, WholeWord),
    against("price", 0.8, WholeWord),
    against("saldo", 0.8, WholeWord),
    against("versjon", 0.8, WholeWord),
    against("version", 0.8, WholeWord),
    against("gnr", 0.8, WholeWord),
    against("bnr", 0.8, WholeWord),
    against("matrikkel", 0.8, Prefix),
    against("timestamp", 0.8, WholeWord),
    against("tidsstempel", 0.8, WholeWord),
];

/// How much of the text before a candidate is searched for context words, in bytes.
pub(crate) const WINDOW_BEFORE: usize = 48;
/// How much of the text after a candidate is searched, in bytes.
pub(crate) const WINDOW_AFTER: usize = 32;

/// The strongest evidence found near one candidate, per cue.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Evidence {
    /// Per identifier kind (indexed like [`IdentifierKind::ALL`]): the strongest support,
    /// strength × distance weight, in [0, 1].
    support: [f32; 9],
    /// The strongest evidence against any identifier.
    pub(crate) against: f32,
}

impl Evidence {
    /// The strongest support for `kind`.
    pub(crate) fn support(&self, kind: IdentifierKind) -> f32 {
        self.support[kind_index(kind)]
    }

    /// The strongest support for any kind other than those in `related`.
    pub(crate) fn strongest_other(&self, related: &[IdentifierKind]) -> f32 {
        IdentifierKind::ALL
            .iter()
            .filter(|kind| !related.contains(kind))
            .map(|&kind| self.support(kind))
            .fold(0.0, f32::max)
    }
}

/// The context-word matcher: built once, shared by every scan.
#[derive(Clone)]
pub(crate) struct ContextMatcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, the index of its word in [`WORDS`].
    word_of_pattern: Vec<u16>,
}

impl ContextMatcher {
    /// Builds the automaton over every spelling of every context word.
    pub(crate) fn new() -> Self {
        let mut patterns: Vec<String> = Vec::with_capacity(WORDS.len() * 2);
        let mut word_of_pattern = Vec::with_capacity(WORDS.len() * 2);
        for (index, word) in WORDS.iter().enumerate() {
            for spelling in case_spellings(word.text) {
                patterns.push(spelling);
                word_of_pattern.push(index as u16);
            }
        }
        // The word list is a constant: building fails only if the DFA grows too large, and then
        // the NFA (which accepts any pattern set of this size) is used instead.
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .or_else(|_| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
            })
            .expect("the constant context-word list builds an automaton");
        ContextMatcher {
            automaton,
            word_of_pattern,
        }
    }

    /// Collects the evidence for a candidate at `start..end` from the context words in
    /// `lo..hi` (both on char boundaries, `lo <= start <= end <= hi`). When another number
    /// starts at `hi`, a word after the candidate that stands nearer to that number is its
    /// label, not this candidate's ("konto 86011117947, fnr 15108695088").
    pub(crate) fn evidence(
        &self,
        text: &str,
        window: (usize, usize),
        candidate: (usize, usize),
        next_number_at_hi: bool,
    ) -> Evidence {
        let (lo, hi) = window;
        let (start, end) = candidate;
        let mut evidence = Evidence::default();
        let Some(window) = text.get(lo..hi) else {
            return evidence;
        };
        for found in self.automaton.find_iter(window) {
            let (m_start, m_end) = (lo + found.start(), lo + found.end());
            let Some(word) = self
                .word_of_pattern
                .get(found.pattern().as_usize())
                .and_then(|&index| WORDS.get(usize::from(index)))
            else {
                continue;
            };
            if !word_boundaries_hold(text, m_start, m_end, word.boundary) {
                continue;
            }
            let weight = if m_end <= start {
                weight_before(start - m_end)
            } else if m_start >= end {
                if next_number_at_hi && hi - m_end < m_start - end {
                    continue;
                }
                weight_after(m_start - end)
            } else {
                // A word overlapping the candidate is part of something else.
                continue;
            };
            let value = word.strength * weight;
            let slot = match word.cue {
                Cue::Supports(kind) => &mut evidence.support[kind_index(kind)],
                Cue::Against => &mut evidence.against,
            };
            if value > *slot {
                *slot = value;
            }
        }
        evidence
    }
}

impl std::fmt::Debug for ContextMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextMatcher")
            .field("patterns", &self.word_of_pattern.len())
            .finish()
    }
}

/// Position of `kind` in [`IdentifierKind::ALL`].
pub(crate) fn kind_index(kind: IdentifierKind) -> usize {
    match kind {
        Fnr => 0,
        Duf => 1,
        Orgnr => 2,
        Mva => 3,
        Kontonr => 4,
        Iban => 5,
        Phone => 6,
        Postnummer => 7,
        Email => 8,
    }
}

/// Weight of a word that ends `gap` bytes before the candidate: labels usually precede values,
/// so a word right before counts fully and fades over the window.
fn weight_before(gap: usize) -> f32 {
    const FULL: usize = 16;
    if gap <= FULL {
        1.0
    } else {
        let fade = (gap - FULL) as f32 / (WINDOW_BEFORE - FULL) as f32;
        (1.0 - 0.65 * fade).max(0.35)
    }
}

/// Weight of a word that starts `gap` bytes after the candidate ("… 15108695088 (fnr)").
fn weight_after(gap: usize) -> f32 {
    const FULL: usize = 4;
    if gap <= FULL {
        0.7
    } else {
        let fade = (gap - FULL) as f32 / (WINDOW_AFTER - FULL) as f32;
        (0.7 - 0.45 * fade).max(0.25)
    }
}

/// Whether the letters around a match allow it to count as the word.
fn word_boundaries_hold(text: &str, start: usize, end: usize, boundary: Boundary) -> bool {
    let left_ok = || {
        !text[..start]
            .chars()
            .next_back()
            .is_some_and(is_word_letter)
    };
    let right_ok = || !text[end..].chars().next().is_some_and(is_word_letter);
    match boundary {
        Boundary::Word => left_ok() && right_ok(),
        Boundary::Prefix => left_ok(),
        Boundary::Anywhere => true,
    }
}

/// Letters join words; digits and punctuation do not (`fnr:`, `fnr15108695088` both count).
fn is_word_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// Every spelling of a lower-case word with its non-ASCII letters in either case (ASCII case is
/// left to the automaton).
fn case_spellings(word: &str) -> Vec<String> {
    let mut spellings = vec![String::new()];
    for c in word.chars() {
        let upper = if c.is_ascii() {
            None
        } else {
            c.to_uppercase().next().filter(|u| *u != c)
        };
        match upper {
            None => spellings.iter_mut().for_each(|s| s.push(c)),
            Some(u) => {
                let mut both = Vec::with_capacity(spellings.len() * 2);
                for s in spellings {
                    let mut other = s.clone();
                    other.push(u);
                    let mut same = s;
                    same.push(c);
                    both.push(same);
                    both.push(other);
                }
                spellings = both;
            }
        }
    }
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_lower_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for word in WORDS {
            assert_eq!(word.text, word.text.to_lowercase(), "{}", word.text);
            assert!(
                seen.insert(word.text),
                "duplicate context word {}",
                word.text
            );
            assert!(word.strength > 0.0 && word.strength <= 1.0);
        }
    }

    #[test]
    fn spellings_cover_upper_case_norwegian_letters() {
        let spellings = case_spellings("brønnøysund");
        assert_eq!(spellings.len(), 4);
        assert!(spellings.contains(&"brØnnØysund".to_owned()));
    }

    #[test]
    fn matcher_finds_words_in_any_case_with_boundaries() {
        let matcher = ContextMatcher::new();
        let text = "FØDSELSNUMMER 1";
        let evidence = matcher.evidence(text, (0, text.len()), (14, 15), false);
        assert!(evidence.support(Fnr) > 0.99);
        // "kontor" is an office, not an account.
        let text = "kontoret 1";
        let evidence = matcher.evidence(text, (0, text.len()), (9, 10), false);
        assert_eq!(evidence.support(Kontonr), 0.0);
        // But a compound with kontonummer counts.
        let text = "bankkontonummeret 1";
        let evidence = matcher.evidence(text, (0, text.len()), (18, 19), false);
        assert!(evidence.support(Kontonr) > 0.99);
    }
}
