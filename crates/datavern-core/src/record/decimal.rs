//! Exact decimals: the textual form of a JSON number or string, normalised without ever going
//! through a float.

/// The most digits a decimal may have in all (integer and fraction): MariaDB/MySQL's
/// `DECIMAL` limit, the strictest of the supported databases.
pub const MAX_DECIMAL_DIGITS: usize = 65;

/// The most digits a decimal may have after the point: MariaDB/MySQL's `DECIMAL` limit.
pub const MAX_DECIMAL_SCALE: usize = 30;

/// Why a text is not a storable decimal. Messages never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// Not written as a decimal number; the message says what was expected.
    Syntax(&'static str),
    /// Too many digits in all or after the point.
    OutOfRange(String),
}

/// Exponents beyond this are refused before any digit is produced, so `1e999999999` cannot
/// make us allocate.
const MAX_EXPONENT: i64 = 1_000;

/// Normalises a decimal written as `[+-]digits[.digits][(e|E)[+-]digits]` to its canonical
/// form: no exponent, no leading zeros (except a single `0` before the point), no trailing
/// zeros after the point, no point when there is no fraction, no sign on zero.
///
/// `1234.50` → `1234.5`, `-0.0` → `0`, `1e+20` → `100000000000000000000`, `007` → `7`.
pub(crate) fn canonical(text: &str) -> Result<String, DecimalError> {
    if text.is_empty() {
        return Err(DecimalError::Syntax(
            "the text is empty: write a number such as \"1234.50\"",
        ));
    }
    if text.contains(',') {
        return Err(DecimalError::Syntax(
            "write the decimal point as \".\" and no thousands separators, e.g. \"1234.50\"",
        ));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(DecimalError::Syntax(
            "remove the spaces: write digits with an optional \".\" and fraction, e.g. \"1234.50\"",
        ));
    }
    const SHAPE: &str = "expected digits with an optional sign, \".\" and fraction, and optional \
                         exponent, e.g. \"1234.50\" or \"-0.25\"";
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = take_sign(bytes, &mut i);
    let int_digits = take_digits(text, &mut i);
    let mut frac_digits = "";
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        frac_digits = take_digits(text, &mut i);
        if frac_digits.is_empty() {
            return Err(DecimalError::Syntax(SHAPE));
        }
    }
    if int_digits.is_empty() {
        return Err(DecimalError::Syntax(SHAPE));
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        i += 1;
        let exp_negative = take_sign(bytes, &mut i);
        let exp_digits = take_digits(text, &mut i);
        if exp_digits.is_empty() {
            return Err(DecimalError::Syntax(SHAPE));
        }
        // Leading zeros aside, more than 4 digits is beyond MAX_EXPONENT anyway (and beyond
        // i64 for long enough inputs).
        let significant = exp_digits.trim_start_matches('0');
        let magnitude = if significant.len() > 4 {
            i64::MAX
        } else {
            significant.parse::<i64>().unwrap_or(0)
        };
        if magnitude > MAX_EXPONENT {
            return Err(out_of_range());
        }
        exponent = if exp_negative { -magnitude } else { magnitude };
    }
    if i != bytes.len() {
        return Err(DecimalError::Syntax(SHAPE));
    }

    // value = digits × 10^-scale
    let mut digits: Vec<u8> = int_digits.bytes().chain(frac_digits.bytes()).collect();
    let mut scale = frac_digits.len() as i64 - exponent;
    // Trailing zeros of the fraction say nothing about the value.
    while scale > 0 && digits.last() == Some(&b'0') {
        digits.pop();
        scale -= 1;
    }
    let first_nonzero = digits.iter().position(|&d| d != b'0');
    let Some(first_nonzero) = first_nonzero else {
        return Ok("0".to_owned());
    };
    digits.drain(..first_nonzero);
    // Now: no leading zeros, no trailing fraction zeros.
    let significant = digits.len() as i64;
    let (int_len, frac_len) = if scale <= 0 {
        (significant - scale, 0)
    } else {
        ((significant - scale).max(0), scale)
    };
    if frac_len > MAX_DECIMAL_SCALE as i64 || int_len + frac_len > MAX_DECIMAL_DIGITS as i64 {
        return Err(out_of_range());
    }
    let mut out = String::with_capacity(usize::try_from(int_len + frac_len + 3).unwrap_or(0));
    if negative {
        out.push('-');
    }
    if scale <= 0 {
        out.extend(digits.iter().map(|&d| char::from(d)));
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-scale).unwrap_or(0),
        ));
    } else {
        let scale = usize::try_from(scale).unwrap_or(0);
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            out.extend(int.iter().map(|&d| char::from(d)));
            out.push('.');
            out.extend(frac.iter().map(|&d| char::from(d)));
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.extend(digits.iter().map(|&d| char::from(d)));
        }
    }
    Ok(out)
}

/// Consumes an optional `-` or `+` at `bytes[*i]`; true for `-`.
fn take_sign(bytes: &[u8], i: &mut usize) -> bool {
    match bytes.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    }
}

/// Consumes the ASCII digits from `text[*i..]` and returns them (possibly none).
fn take_digits<'t>(text: &'t str, i: &mut usize) -> &'t str {
    let start = *i;
    let bytes = text.as_bytes();
    while *i < bytes.len() && bytes[*i].is_ascii_digit() {
        *i += 1;
    }
    &text[start..*i]
}

fn out_of_range() -> DecimalError {
    DecimalError::OutOfRange(format!(
        "too many digits: a decimal has at most {MAX_DECIMAL_DIGITS} digits, at most \
         {MAX_DECIMAL_SCALE} of them after the point"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        for (input, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("0e500", "0"),
            ("1234.50", "1234.5"),
            ("1234.00", "1234"),
            ("+12", "12"),
            ("007", "7"),
            ("0.25", "0.25"),
            ("-0.0025", "-0.0025"),
            ("1e+20", "100000000000000000000"),
            ("1E3", "1000"),
            ("1.5e-3", "0.0015"),
            ("12.5e1", "125"),
            (
                "123456789012345678901234567890.123456789",
                "123456789012345678901234567890.123456789",
            ),
            (
                "0.000000000000000000000000000001",
                "0.000000000000000000000000000001",
            ),
        ] {
            assert_eq!(canonical(input), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn malformed_decimals_are_syntax_errors() {
        for input in [
            "", "1,5", "1 000", "abc", ".5", "5.", "1e", "--1", "1.2.3", "0x10", "NaN",
        ] {
            assert!(
                matches!(canonical(input), Err(DecimalError::Syntax(_))),
                "{input:?}"
            );
        }
    }

    #[test]
    fn too_many_digits_are_out_of_range() {
        let limit = "9".repeat(MAX_DECIMAL_DIGITS);
        assert!(canonical(&limit).is_ok());
        assert!(matches!(
            canonical(&format!("{limit}9")),
            Err(DecimalError::OutOfRange(_))
        ));
        assert!(canonical(&format!("0.{}", "1".repeat(MAX_DECIMAL_SCALE))).is_ok());
        assert!(matches!(
            canonical(&format!("0.{}", "1".repeat(MAX_DECIMAL_SCALE + 1))),
            Err(DecimalError::OutOfRange(_))
        ));
        assert!(matches!(
            canonical("1e999999999999999999999"),
            Err(DecimalError::OutOfRange(_))
        ));
        assert!(matches!(
            canonical("1e-31"),
            Err(DecimalError::OutOfRange(_))
        ));
    }
}
