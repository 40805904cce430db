//! Progress of long repository operations, as bars on a terminal (with rate and ETA) or not
//! at all.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustic_core::{Progress, ProgressBars, ProgressType, RusticProgress};

/// Whether to draw progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on standard error (only when it is a terminal; indicatif draws nothing
    /// otherwise).
    Bars,
    /// Nothing (tests, `--json`, the scheduler in `serve`).
    Hidden,
}

/// rustic's progress reports drawn as indicatif bars.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bars(pub(crate) ProgressMode);

impl ProgressBars for Bars {
    fn progress(&self, progress_type: ProgressType, prefix: &str) -> Progress {
        if self.0 == ProgressMode::Hidden {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let template = match progress_type {
            ProgressType::Spinner => "{spinner} {prefix:30} {elapsed_precise}",
            ProgressType::Counter => {
                "{prefix:30} [{elapsed_precise}] {bar:40} {pos:>10}/{len:10} ({per_sec}, eta {eta})"
            }
            ProgressType::Bytes => {
                "{prefix:30} [{elapsed_precise}] {bar:40} {bytes:>10}/{total_bytes:10} \
                 ({bytes_per_sec}, eta {eta})"
            }
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_prefix(prefix.to_owned());
        if matches!(progress_type, ProgressType::Spinner) {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Progress::new(Bar(bar))
    }
}

#[derive(Debug)]
struct Bar(ProgressBar);

impl RusticProgress for Bar {
    fn is_hidden(&self) -> bool {
        self.0.is_hidden()
    }

    fn set_length(&self, len: u64) {
        self.0.set_length(len);
    }

    fn set_title(&self, title: &str) {
        self.0.set_prefix(title.to_owned());
    }

    fn inc(&self, inc: u64) {
        self.0.inc(inc);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
