//! The e-mail recognizer: grows a span outwards from an `@` and checks it with the same rules
//! as [`crate::id::EmailAddress`] (dot-atom local part, at least two domain labels, an
//! alphabetic top-level domain), without allocating.

use super::scanner::{char_at, char_before};

/// Special characters allowed in an unquoted local part besides letters, digits and dots.
const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";

/// The span of the e-mail address around the `@` at byte offset `at`, if there is one.
pub(crate) fn span_at(text: &str, at: usize) -> Option<(usize, usize)> {
    let start = local_part_start(text, at)?;
    let end = domain_end(text, at + 1)?;
    Some((start, end))
}

fn local_part_start(text: &str, at: usize) -> Option<usize> {
    let mut start = at;
    while let Some(c) = char_before(text, start) {
        let allowed = if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '.' || ATEXT_SPECIALS.contains(&(c as u8))
        } else {
            c.is_alphanumeric()
        };
        if !allowed {
            break;
        }
        start -= c.len_utf8();
    }
    // Quotes, plus signs and the like are legal at the start but in running text they are
    // punctuation around the address: begin at the first letter or digit.
    while let Some(c) = char_at(text, start) {
        if start >= at || c.is_alphanumeric() {
            break;
        }
        start += c.len_utf8();
    }
    let local = text.get(start..at)?;
    let valid =
        !local.is_empty() && local.len() <= 64 && !local.ends_with('.') && !local.contains("..");
    valid.then_some(start)
}

fn domain_end(text: &str, from: usize) -> Option<usize> {
    let mut end = from;
    while let Some(c) = char_at(text, end) {
        let allowed = if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '-' || c == '.'
        } else {
            c.is_alphanumeric()
        };
        if !allowed {
            break;
        }
        end += c.len_utf8();
    }
    // A sentence may end right after the address.
    let domain = text.get(from..end)?.trim_end_matches(['.', '-']);
    let end = from + domain.len();
    if domain.is_empty() || domain.len() > 253 {
        return None;
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return None;
        }
        labels += 1;
        last = label;
    }
    let tld_ok = last.chars().count() >= 2 && last.chars().all(char::is_alphabetic);
    (labels >= 2 && tld_ok).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Option<&str> {
        let at = text.find('@')?;
        span_at(text, at).map(|(s, e)| &text[s..e])
    }

    #[test]
    fn addresses_in_running_text() {
        assert_eq!(
            find("Send til ola.nordmann@nav.no."),
            Some("ola.nordmann@nav.no")
        );
        assert_eq!(find("(kari+test@kommune.no)"), Some("kari+test@kommune.no"));
        assert_eq!(find("«åse@blåbær.no»"), Some("åse@blåbær.no"));
        assert_eq!(find("e-post: 'per@x.com'"), Some("per@x.com"));
    }

    #[test]
    fn things_that_are_not_addresses() {
        assert_eq!(find("@kommune.no"), None);
        assert_eq!(find("per@localhost"), None);
        assert_eq!(find("per@10.0.0.1"), None);
        assert_eq!(find("a..b@x.no"), None);
        assert_eq!(find("møte @ 14"), None);
        assert_eq!(find("per@-x.no"), None);
    }
}
