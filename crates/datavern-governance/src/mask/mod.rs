//! `datavern migrate copy --mask`: a copy of the installation for a test environment, in
//! which every personal value is replaced by a synthetic one of the same shape
//! (`docs/migrations.md`, "Masked copies").
//!
//! - [`synth`]: the replacements: Tenor fødselsnumre (synthetic by definition), made-up
//!   names and streets, phone numbers, e-mail addresses at `example.com`, dates shifted per
//!   person, free text with every identifier the PII detector finds and every name of the
//!   source replaced; the same person gets the same replacement everywhere.
//! - [`run`]: the run: residency, the target's catalog (the source's with `masked: true`)
//!   and an empty target checked first; a pass that learns the source's identifiers and
//!   names, so that none can reappear; then each collection, persons first, read page by
//!   page, decrypted, masked and written through the target's governed create (validation,
//!   encryption under the target's own new keys, audit), references moved to the new ids.
//!
//! **Invariant**: no value of a personal field of the source reaches the target, a log line,
//! an error or an audit entry; no key of the source does either (the target's records are
//! sealed under keys its own KEK made). Non-personal fields are copied as they are.

pub mod run;
pub mod synth;

pub use self::run::{
    DEFAULT_BATCH_SIZE, MaskError, MaskOptions, MaskReport, MaskedCollection, Phase, Progress,
    mark_masked, masked_copy, record_refusal,
};
pub use self::synth::{Masker, SynthError};
