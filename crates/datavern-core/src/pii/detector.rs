//! The detector: one pass over the bytes of a text, candidates validated as they are met,
//! context words looked up only around candidates, overlaps resolved at the end.

use crate::id::IdentifierKind;

use super::context::{ContextMatcher, Evidence, WINDOW_AFTER, WINDOW_BEFORE};
use super::email;
use super::finding::Finding;
use super::numbers::{self, Hypothesis, base};
use super::scanner::{
    self, Cluster, Group, ceil_boundary, char_at, char_before, floor_boundary, is_glue,
};

/// The score at or above which [`Detector::new`] reports a finding.
pub const DEFAULT_MIN_SCORE: f32 = 0.5;

/// Score change for an identifier glued to letters (`ABC15108695088`): it is more likely part
/// of a product or reference code.
const GLUED: f32 = -0.25;
/// How much the nearest supporting context word raises a score (times its weight).
const SUPPORT: f32 = 0.35;
/// How much supporting context counts when contradicting context is nearer.
const SUPPORT_OUTWEIGHED: f32 = 0.10;
/// How much the nearest contradicting context word lowers a score (times its weight).
const AGAINST: f32 = 0.45;
/// How much contradicting context counts when supporting context is nearer.
const AGAINST_OUTWEIGHED: f32 = 0.10;
/// Context for another identifier kind counts as this fraction of contradicting context.
const OTHER_KIND: f32 = 0.6;

/// Finds Norwegian identifiers in free text.
///
/// Build it once (it compiles the context-word automaton) and reuse it: [`Detector::detect`]
/// takes `&self`, allocates nothing beyond growing the caller's output vector, and can be
/// shared between threads.
///
/// ```
/// use datavern_core::pii::Detector;
/// use datavern_core::id::IdentifierKind;
///
/// let detector = Detector::new();
/// let mut findings = Vec::new();
/// let text = "Søkers fnr er 151086 95088, kontonr. 8601.11.17947.";
/// detector.detect(text, &mut findings);
/// let kinds: Vec<_> = findings.iter().map(|f| f.kind).collect();
/// assert_eq!(kinds, [IdentifierKind::Fnr, IdentifierKind::Kontonr]);
/// assert_eq!(findings[0].text(text), Some("151086 95088"));
/// ```
#[derive(Debug, Clone)]
pub struct Detector {
    context: ContextMatcher,
    min_score: f32,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// A detector that reports findings scoring at least [`DEFAULT_MIN_SCORE`].
    pub fn new() -> Self {
        Detector {
            context: ContextMatcher::new(),
            min_score: DEFAULT_MIN_SCORE,
        }
    }

    /// The same detector reporting findings that score at least `min_score` (clamped to
    /// [0, 1]); lower it to see weak candidates, raise it for fewer false positives.
    #[must_use]
    pub fn with_min_score(mut self, min_score: f32) -> Self {
        self.min_score = if min_score.is_nan() {
            DEFAULT_MIN_SCORE
        } else {
            min_score.clamp(0.0, 1.0)
        };
        self
    }

    /// The lowest score reported.
    pub fn min_score(&self) -> f32 {
        self.min_score
    }

    /// Replaces the contents of `out` with the identifiers found in `text`, ordered by start
    /// offset, not overlapping.
    pub fn detect(&self, text: &str, out: &mut Vec<Finding>) {
        out.clear();
        let bytes = text.as_bytes();
        let mut scan = Scan { text, clip: 0, out };
        let mut pos = 0;
        while let Some(at) = scanner::next_interesting(bytes, pos) {
            if bytes[at] == b'@' {
                pos = at + 1;
                if let Some((start, end)) = email::span_at(text, at) {
                    self.email(&mut scan, start, end);
                    pos = end;
                }
                continue;
            }
            let cluster = Cluster::read(bytes, at);
            self.cluster(&mut scan, &cluster, at);
            pos = cluster.end;
        }
        resolve_overlaps(scan.out);
    }

    /// Tries the cluster as one number; if it is not one and has spaces, each space-separated
    /// token on its own.
    fn cluster(&self, scan: &mut Scan<'_, '_>, cluster: &Cluster, start: usize) {
        if let Some(groups) = cluster.all_groups()
            && (self.candidate(scan, groups) || !cluster.has_space_join())
        {
            return;
        }
        scanner::for_each_token(scan.text.as_bytes(), start, |groups| {
            self.candidate(scan, groups);
        });
    }

    /// Evaluates one candidate; returns whether it was a candidate at all (validated as some
    /// kind, whatever its final score).
    fn candidate(&self, scan: &mut Scan<'_, '_>, groups: &[Group]) -> bool {
        let readings = numbers::hypotheses(scan.text, groups);
        if readings.is_empty() {
            return false;
        }
        let (Some(first), Some(last)) = (groups.first(), groups.last()) else {
            return false;
        };
        let (lo, hi) = span_of(&readings);
        let evidence = self.evidence(scan, lo.min(first.start), hi.max(last.end));
        let scored_first = readings.first.map(|h| (h, score(scan.text, &h, &evidence)));
        let scored_second = readings
            .second
            .map(|h| (h, score(scan.text, &h, &evidence)));
        let (best, other) = match (scored_first, scored_second) {
            (Some(a), Some(b)) if b.1 > a.1 => (b, Some(a)),
            (Some(a), b) => (a, b),
            (None, Some(b)) => (b, None),
            (None, None) => return false,
        };
        let (hypothesis, best_score) = best;
        scan.clip = hypothesis.end;
        if best_score >= self.min_score {
            scan.out.push(Finding {
                kind: hypothesis.kind,
                variant: hypothesis.variant,
                start: hypothesis.start,
                end: hypothesis.end,
                score: best_score,
                also_valid_as: other.map(|(h, _)| h.kind),
            });
        }
        true
    }

    fn email(&self, scan: &mut Scan<'_, '_>, start: usize, end: usize) {
        let hypothesis = Hypothesis {
            kind: IdentifierKind::Email,
            variant: None,
            score: base::EMAIL,
            start,
            end,
        };
        let evidence = self.evidence(scan, start, end);
        let score = score(scan.text, &hypothesis, &evidence);
        scan.clip = scan.clip.max(end);
        if score >= self.min_score {
            scan.out.push(Finding {
                kind: IdentifierKind::Email,
                variant: None,
                start,
                end,
                score,
                also_valid_as: None,
            });
        }
    }

    /// Context words in the window around `start..end`: back to the previous candidate at
    /// most, and forward to the next digit at most (which may be the next candidate's).
    fn evidence(&self, scan: &Scan<'_, '_>, start: usize, end: usize) -> Evidence {
        let text = scan.text;
        let bytes = text.as_bytes();
        let lo = ceil_boundary(
            text,
            start
                .saturating_sub(WINDOW_BEFORE)
                .max(scan.clip.min(start)),
        );
        let mut hi = floor_boundary(text, end.saturating_add(WINDOW_AFTER));
        let next_digit = bytes
            .get(end..hi)
            .and_then(|tail| tail.iter().position(u8::is_ascii_digit));
        if let Some(offset) = next_digit {
            hi = end + offset;
        }
        self.context
            .evidence(text, (lo, hi), (start, end), next_digit.is_some())
    }
}

/// The state of one scan.
struct Scan<'t, 'o> {
    text: &'t str,
    /// Context words before this offset belong to an earlier candidate.
    clip: usize,
    out: &'o mut Vec<Finding>,
}

fn span_of(readings: &numbers::Hypotheses) -> (usize, usize) {
    [readings.first, readings.second]
        .iter()
        .flatten()
        .fold((usize::MAX, 0), |(lo, hi), h| {
            (lo.min(h.start), hi.max(h.end))
        })
}

/// The kinds whose context words speak for a hypothesis of `kind`.
fn related(kind: IdentifierKind) -> &'static [IdentifierKind] {
    use IdentifierKind::{Duf, Email, Fnr, Iban, Kontonr, Mva, Orgnr, Phone, Postnummer};
    match kind {
        Fnr => &[Fnr],
        Duf => &[Duf],
        Orgnr | Mva => &[Orgnr, Mva],
        Kontonr | Iban => &[Kontonr, Iban],
        Phone => &[Phone],
        Postnummer => &[Postnummer],
        Email => &[Email],
    }
}

/// The final score of a hypothesis: its base and format score, moved by the nearest context
/// and lowered for glue, clamped to [0, 1].
fn score(text: &str, hypothesis: &Hypothesis, evidence: &Evidence) -> f32 {
    let kinds = related(hypothesis.kind);
    let support = kinds
        .iter()
        .map(|&kind| evidence.support(kind))
        .fold(0.0, f32::max);
    let against = evidence
        .against
        .max(OTHER_KIND * evidence.strongest_other(kinds));
    let mut score = hypothesis.score;
    if support >= against {
        score += SUPPORT * support - AGAINST_OUTWEIGHED * against;
    } else {
        score += SUPPORT_OUTWEIGHED * support - AGAINST * against;
    }
    let glued = char_before(text, hypothesis.start).is_some_and(is_glue)
        || char_at(text, hypothesis.end).is_some_and(is_glue);
    if glued {
        score += GLUED;
    }
    score.clamp(0.0, 1.0)
}

/// Sorts findings by start and drops the weaker of any two that overlap: the longer span wins
/// (an IBAN over the kontonummer in it, an e-mail address over digits in it), then the higher
/// score.
fn resolve_overlaps(out: &mut Vec<Finding>) {
    let ordered = out.windows(2).all(|w| w[0].end <= w[1].start);
    if ordered {
        return;
    }
    out.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut kept = 0usize;
    for i in 0..out.len() {
        let candidate = out[i];
        if kept > 0 {
            let previous = out[kept - 1];
            if candidate.start < previous.end {
                let candidate_wins = (candidate.end - candidate.start, candidate.score)
                    > (previous.end - previous.start, previous.score);
                if candidate_wins {
                    out[kept - 1] = candidate;
                }
                continue;
            }
        }
        out[kept] = candidate;
        kept += 1;
    }
    out.truncate(kept);
}
