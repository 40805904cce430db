//! "Did you mean …?" suggestions for misspelt names.

/// The candidate closest to `input` by edit distance, if it is close enough to be a likely
/// typo (at most a third of the input's length, or the one is a prefix of the other), and
/// never the input itself.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    let budget = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != input)
        .map(|candidate| (distance(&input_lower, &candidate.to_lowercase()), candidate))
        .filter(|(d, candidate)| *d <= budget || is_prefix_pair(&input_lower, candidate))
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Whether one of the two is a prefix of the other, both long enough to mean it
/// (`forelder` for `forelder_id`).
fn is_prefix_pair(input: &str, candidate: &str) -> bool {
    let candidate = candidate.to_lowercase();
    input.chars().count().min(candidate.chars().count()) >= 4
        && (candidate.starts_with(input) || input.starts_with(&candidate))
}

/// The `"; did you mean \"x\"?"` tail of a message, else `"; {otherwise}"` (or nothing when
/// `otherwise` is empty).
pub(crate) fn did_you_mean_or<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: &str,
) -> String {
    match suggest(input, candidates) {
        Some(candidate) => format!("; did you mean \"{candidate}\"?"),
        None if otherwise.is_empty() => String::new(),
        None => format!("; {otherwise}"),
    }
}

/// The `"; did you mean \"x\"?"` tail of a message, or nothing.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match suggest(input, candidates) {
        Some(candidate) => format!("; did you mean \"{candidate}\"?"),
        None => String::new(),
    }
}

/// Levenshtein distance over chars, with adjacent transpositions counting one (optimal string
/// alignment), since swapped letters are the commonest typo.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["user.health", "user.contact", "user.name"];
        assert_eq!(suggest("user.helth", names), Some("user.health"));
        assert_eq!(suggest("user.ehalth", names), Some("user.health"));
        assert_eq!(
            suggest("encryptd", ["encrypted", "searchable"]),
            Some("encrypted")
        );
        assert_eq!(suggest("banana", names), None);
        assert_eq!(
            suggest("forelder", ["forelder_id", "barn_id"]),
            Some("forelder_id")
        );
        assert_eq!(suggest("id", ["id_nummer"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
