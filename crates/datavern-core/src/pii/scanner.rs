//! Byte-level scanning: finding the next byte that can start an identifier, and reading runs of
//! digit groups ("clusters") such as `151086 95088`, `8601.11.17947` or `+47 912 34 567`.
//!
//! A cluster is a maximal sequence of ASCII digit groups joined by exactly one separator each:
//! a space (also no-break, narrow no-break and thin space), a dot or a hyphen. Anything else,
//! including two spaces, ends it. Clusters are maximal, so an identifier is never read out of
//! the middle of a longer digit run.

/// At most this many groups of a cluster are remembered; no identifier format has more than
/// five (`+47 91 23 45 67`), so a longer cluster is read part by part.
pub(crate) const MAX_GROUPS: usize = 6;

/// The separator before a digit group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Join {
    /// The first group of a cluster.
    Start,
    /// A space (or a no-break, narrow no-break or thin space): a weak join, since two numbers
    /// written next to each other are also separated by a space.
    Space,
    /// A dot (`8601.11.17947`).
    Dot,
    /// A hyphen (`151086-95088`).
    Dash,
}

/// One run of ASCII digits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    /// Byte offset of the first digit.
    pub(crate) start: usize,
    /// Byte offset one past the last digit.
    pub(crate) end: usize,
    /// The separator before the group.
    pub(crate) join: Join,
}

impl Group {
    const EMPTY: Group = Group {
        start: 0,
        end: 0,
        join: Join::Start,
    };

    /// Number of digits.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Byte class table: 1 for ASCII digits, 2 for `@`, 0 otherwise.
static INTERESTING: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = b'0';
    while b <= b'9' {
        table[b as usize] = 1;
        b += 1;
    }
    table[b'@' as usize] = 2;
    table
};

/// The offset of the next ASCII digit or `@` at or after `from`.
///
/// This is the detector's hot loop: most text has neither. Eight bytes are tested at a time
/// with SWAR arithmetic (a byte is "interesting" when it lies in `0x30..=0x40`), and only a
/// word that holds one is looked at byte by byte.
#[inline]
pub(crate) fn next_interesting(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let tail = bytes.get(from..)?;
    let mut chunks = tail.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if may_hold_digit_or_at(u64::from_le_bytes(word)) {
            for (k, &b) in chunk.iter().enumerate() {
                if INTERESTING[usize::from(b)] != 0 {
                    return Some(i + k);
                }
            }
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| INTERESTING[usize::from(b)] != 0)
        .map(|k| i + k)
}

/// Whether any byte of `word` lies in `0x30..=0x40` (digits, `:;<=>?@`). Exact: no false
/// negatives, and false positives only for the seven punctuation bytes in that range.
#[inline(always)]
fn may_hold_digit_or_at(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Subtract 0x30 from each byte with the high bit set first so no byte borrows from its
    // neighbour; a byte b < 0x80 then becomes b - 0x30 + 0x80, whose high bit is set exactly
    // when b >= 0x30. Bytes >= 0x80 are excluded by `!word & HIGH` at the end.
    let ge_30 = (word | HIGH) - ONES * 0x30;
    // Likewise b + (0x7f - 0x40) has the high bit set exactly when b > 0x40.
    let gt_40 = (word & !HIGH) + ONES * (0x7f - 0x40);
    ge_30 & !gt_40 & !word & HIGH != 0
}

/// The end of the run of ASCII digits starting at `start`.
#[inline]
pub(crate) fn digit_run_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    end
}

/// If a separator that joins digit groups stands at `at` and a digit follows it, the join and
/// the offset of that digit.
#[inline]
pub(crate) fn join_at(bytes: &[u8], at: usize) -> Option<(Join, usize)> {
    let (join, width) = match bytes.get(at..)? {
        [b' ', ..] => (Join::Space, 1),
        [b'.', ..] => (Join::Dot, 1),
        [b'-', ..] => (Join::Dash, 1),
        // U+00A0 no-break space.
        [0xC2, 0xA0, ..] => (Join::Space, 2),
        // U+202F narrow no-break space, U+2009 thin space.
        [0xE2, 0x80, 0xAF | 0x89, ..] => (Join::Space, 3),
        _ => return None,
    };
    let next = at + width;
    bytes
        .get(next)
        .is_some_and(u8::is_ascii_digit)
        .then_some((join, next))
}

/// The first groups of the cluster that starts at `start` (a digit not preceded by one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cluster {
    /// The first [`MAX_GROUPS`] groups.
    pub(crate) groups: [Group; MAX_GROUPS],
    /// How many groups the cluster has in all (may exceed [`MAX_GROUPS`]).
    pub(crate) count: usize,
    /// Byte offset one past the last digit of the cluster.
    pub(crate) end: usize,
}

impl Cluster {
    /// Reads the cluster that starts at `start`.
    pub(crate) fn read(bytes: &[u8], start: usize) -> Cluster {
        let mut cluster = Cluster {
            groups: [Group::EMPTY; MAX_GROUPS],
            count: 0,
            end: start,
        };
        let mut at = start;
        let mut join = Join::Start;
        loop {
            let end = digit_run_end(bytes, at);
            if let Some(slot) = cluster.groups.get_mut(cluster.count) {
                *slot = Group {
                    start: at,
                    end,
                    join,
                };
            }
            cluster.count += 1;
            match join_at(bytes, end) {
                Some((next_join, next)) => {
                    join = next_join;
                    at = next;
                }
                None => {
                    cluster.end = end;
                    return cluster;
                }
            }
        }
    }

    /// The remembered groups, when the cluster has no more than [`MAX_GROUPS`].
    pub(crate) fn all_groups(&self) -> Option<&[Group]> {
        self.groups.get(..self.count)
    }

    /// Whether the cluster has a space join (so it may be several numbers side by side).
    pub(crate) fn has_space_join(&self) -> bool {
        self.count > MAX_GROUPS
            || self.groups[..self.count.min(MAX_GROUPS)]
                .iter()
                .any(|group| group.join == Join::Space)
    }
}

/// Calls `each` with the groups of every space-separated token of the cluster starting at
/// `start` (a token is a run of groups joined by dots or hyphens, `8601.11.17947`). Tokens of
/// more than [`MAX_GROUPS`] groups are skipped: no identifier has that many.
pub(crate) fn for_each_token(bytes: &[u8], start: usize, mut each: impl FnMut(&[Group])) {
    let mut token = [Group::EMPTY; MAX_GROUPS];
    let mut count = 0usize;
    let mut at = start;
    let mut join = Join::Start;
    loop {
        let end = digit_run_end(bytes, at);
        if let Some(slot) = token.get_mut(count) {
            *slot = Group {
                start: at,
                end,
                join: if count == 0 { Join::Start } else { join },
            };
        }
        count += 1;
        let next = join_at(bytes, end);
        let token_ends = !matches!(next, Some((Join::Dot | Join::Dash, _)));
        if token_ends {
            if let Some(groups) = token.get(..count) {
                each(groups);
            }
            count = 0;
        }
        match next {
            Some((next_join, next_at)) => {
                join = next_join;
                at = next_at;
            }
            None => return,
        }
    }
}

/// The character just before byte offset `at` (a char boundary).
#[inline]
pub(crate) fn char_before(text: &str, at: usize) -> Option<char> {
    text.get(..at)?.chars().next_back()
}

/// The character starting at byte offset `at` (a char boundary).
#[inline]
pub(crate) fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..)?.chars().next()
}

/// Whether `c` glues a number into a longer alphanumeric token (`ABC15108695088`).
#[inline]
pub(crate) fn is_glue(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// The nearest char boundary at or before `at`.
#[inline]
pub(crate) fn floor_boundary(text: &str, mut at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The nearest char boundary at or after `at`.
#[inline]
pub(crate) fn ceil_boundary(text: &str, mut at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8], from: usize) -> Option<usize> {
        bytes[from..]
            .iter()
            .position(|&b| b.is_ascii_digit() || b == b'@')
            .map(|k| from + k)
    }

    #[test]
    fn swar_scan_agrees_with_the_naive_scan_on_every_byte() {
        for b in 0..=255u8 {
            for position in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[position] = b;
                for from in 0..bytes.len() {
                    assert_eq!(
                        next_interesting(&bytes, from),
                        naive(&bytes, from),
                        "byte {b:#x} at {position}, from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn clusters_join_single_separators_only() {
        let text = "x 8601.11.17947  12 34,5 +47 912 34 567";
        let bytes = text.as_bytes();
        let cluster = Cluster::read(bytes, 2);
        assert_eq!(cluster.count, 3);
        assert_eq!(&text[2..cluster.end], "8601.11.17947");
        let cluster = Cluster::read(bytes, 17);
        assert_eq!(&text[17..cluster.end], "12 34");
        let cluster = Cluster::read(bytes, 26);
        assert_eq!(&text[26..cluster.end], "47 912 34 567");
        assert_eq!(cluster.count, 4);
        assert!(cluster.has_space_join());
    }

    #[test]
    fn no_break_spaces_join_groups() {
        let text = "912\u{a0}34\u{202f}567";
        let cluster = Cluster::read(text.as_bytes(), 0);
        assert_eq!(cluster.count, 3);
        assert_eq!(cluster.end, text.len());
    }

    #[test]
    fn tokens_split_at_spaces() {
        let text = "2024-01 15108695088 1.2.3";
        let mut tokens = Vec::new();
        for_each_token(text.as_bytes(), 0, |groups| {
            tokens.push(&text[groups[0].start..groups[groups.len() - 1].end]);
        });
        assert_eq!(tokens, ["2024-01", "15108695088", "1.2.3"]);
    }
}
