//! Norwegian IBAN: `NO`, two check digits, and the 11-digit kontonummer (15 characters).

use std::fmt;
use std::str::FromStr;

use super::digits;
use super::{IdError, Kontonummer};

/// Length of a Norwegian IBAN in its electronic form.
const LEN: usize = 15;

/// A valid Norwegian IBAN: its ISO 13616 check digits (mod 97) match and the kontonummer
/// inside is valid.
///
/// Personal data when the account is a person's: `Debug` redacts, there is no `Display`;
/// [`Iban::formatted`] gives the printed form `NO93 8601 1117 947`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban {
    /// Electronic form: upper case, no spaces.
    canonical: [u8; LEN],
    account: Kontonummer,
}

impl Iban {
    /// Parses the electronic form (`NO9386011117947`) or the printed form in groups of four
    /// (`NO93 8601 1117 947`); the country code may be lower case.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const EXPECTED: &str = "a letter or digit (or a space between groups of four)";
        let (offset, trimmed) = digits::trim_start_counted(input);
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        let mut canonical = [b'0'; LEN];
        let mut positions = [0usize; LEN];
        let mut count = 0usize;
        let mut spaces = 0usize;
        for (index, ch) in trimmed.chars().enumerate() {
            let position = offset + index + 1;
            // Printed form: a space after every group of four, or none at all.
            let boundary = count == 4 * (spaces + 1);
            if ch == ' ' && boundary {
                spaces += 1;
                continue;
            }
            if boundary && spaces > 0 {
                return Err(IdError::UnexpectedCharacter {
                    position,
                    expected: "a space between groups of four",
                });
            }
            if !ch.is_ascii_alphanumeric() {
                return Err(IdError::UnexpectedCharacter {
                    position,
                    expected: EXPECTED,
                });
            }
            if count < LEN {
                canonical[count] = ch.to_ascii_uppercase() as u8;
                positions[count] = position;
            }
            count += 1;
        }
        // The country first: a German IBAN is "not Norwegian", not "too long".
        if count >= 2
            && canonical[..2].iter().all(u8::is_ascii_alphabetic)
            && &canonical[..2] != b"NO"
        {
            return Err(IdError::NotNorwegianIban);
        }
        if count != LEN {
            return Err(IdError::WrongLength {
                expected: LEN,
                got: count,
                unit: "characters",
            });
        }
        for (index, byte) in canonical.iter().enumerate() {
            let expected = if index < 2 {
                byte.is_ascii_alphabetic()
            } else {
                byte.is_ascii_digit()
            };
            if !expected {
                return Err(IdError::UnexpectedCharacter {
                    position: positions[index],
                    expected: if index < 2 {
                        "the country code NO"
                    } else {
                        "a digit"
                    },
                });
            }
        }
        if mod97(&canonical) != 1 {
            return Err(IdError::CheckDigits);
        }
        let mut account = [b'0'; 11];
        account.copy_from_slice(&canonical[4..]);
        let account =
            Kontonummer::from_digits(&account).map_err(|_| IdError::EmbeddedKontonummer)?;
        Ok(Iban { canonical, account })
    }

    /// The IBAN of a kontonummer (computes the check digits).
    pub fn from_kontonummer(kontonummer: &Kontonummer) -> Self {
        let mut canonical = [b'0'; LEN];
        canonical[..2].copy_from_slice(b"NO");
        canonical[4..].copy_from_slice(kontonummer.digits());
        let check = 98 - mod97(&canonical);
        canonical[2] = digits::ascii((check / 10) as u8);
        canonical[3] = digits::ascii((check % 10) as u8);
        Iban {
            canonical,
            account: *kontonummer,
        }
    }

    /// The kontonummer inside.
    pub fn kontonummer(&self) -> Kontonummer {
        self.account
    }

    /// The electronic form: `NO9386011117947`.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.canonical)
    }

    /// The printed form, in groups of four: `NO93 8601 1117 947`.
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        format!("{} {} {} {}", &s[..4], &s[4..8], &s[8..12], &s[12..])
    }
}

/// ISO 7064 MOD 97-10 over an IBAN whose check digits are in place (or `00` to compute them):
/// the first four characters move to the end and letters count as 10–35.
fn mod97(iban: &[u8; LEN]) -> u32 {
    let (head, tail) = iban.split_at(4);
    tail.iter().chain(head).fold(0u32, |acc, &byte| {
        let value = if byte.is_ascii_digit() {
            u32::from(byte - b'0')
        } else {
            u32::from(byte.to_ascii_uppercase().wrapping_sub(b'A')) + 10
        };
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    })
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iban(..)")
    }
}

impl FromStr for Iban {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
