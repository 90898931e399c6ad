//! Progress on stderr for long commands (`db prune`, the lines `flow-run
//! logs` prints before it follows), drawn with indicatif.
//!
//! Shown only when stderr is a terminal, and never with `--no-progress` or
//! `PREFECT_CLI_PROGRESS=false`: scripts and pipes get plain output.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use prefect_store::PruneProgress;

/// The variable that turns progress off (`false`, `0`, `no`, `off`).
pub(crate) const ENV: &str = "PREFECT_CLI_PROGRESS";

/// Whether progress is shown: no `--no-progress`, `PREFECT_CLI_PROGRESS`
/// unset or true, and stderr a terminal.
///
/// # Errors
/// A `PREFECT_CLI_PROGRESS` that is neither true nor false.
pub(crate) fn enabled(no_progress: bool) -> Result<bool> {
    let var = std::env::var(ENV).ok();
    decide(no_progress, var.as_deref(), std::io::stderr().is_terminal())
}

fn decide(no_progress: bool, var: Option<&str>, stderr_is_terminal: bool) -> Result<bool> {
    let wanted = match var.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "true" | "1" | "yes" | "on") => true,
        Some("false" | "0" | "no" | "off") => false,
        Some(_) => bail!("invalid value {:?} for {ENV}: expected true or false", var.unwrap_or_default()),
    };
    Ok(wanted && !no_progress && stderr_is_terminal)
}

/// Runs deleted by a prune: a spinner until the store says how many are
/// due, then a bar; hidden unless `shown`.
pub(crate) struct PruneBar {
    bar: ProgressBar,
    counted: std::sync::atomic::AtomicBool,
}

impl PruneBar {
    /// A bar on stderr, or a hidden one.
    pub(crate) fn new(shown: bool) -> PruneBar {
        let bar = if shown { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
        bar.set_style(style("{spinner} pruning: {human_pos} runs deleted"));
        if shown {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        PruneBar { bar, counted: false.into() }
    }

    /// Shows `progress`.
    pub(crate) fn show(&self, progress: PruneProgress) {
        use std::sync::atomic::Ordering;
        if let Some(due) = progress.runs_due {
            if !self.counted.swap(true, Ordering::Relaxed) {
                self.bar.set_style(style(
                    "{spinner} pruning [{wide_bar}] {human_pos}/{human_len} runs, {eta} left",
                ));
            }
            self.bar.set_length(due.max(progress.runs_deleted()));
        }
        self.bar.set_position(progress.runs_deleted());
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A counter of log lines printed, or a hidden one.
pub(crate) fn lines_spinner(shown: bool) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let spinner =
        ProgressBar::new_spinner().with_style(style("{spinner} printing recorded lines: {human_pos}"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn shown_on_a_terminal_unless_turned_off() {
        assert!(decide(false, None, true).unwrap());
        assert!(decide(false, Some("TRUE"), true).unwrap());
        assert!(decide(false, Some(""), true).unwrap());
        assert!(!decide(false, None, false).unwrap(), "never off a terminal");
        assert!(!decide(false, Some("true"), false).unwrap());
        assert!(!decide(true, None, true).unwrap(), "--no-progress");
        for off in ["false", "0", "no", "Off "] {
            assert!(!decide(false, Some(off), true).unwrap(), "{off}");
        }
        let err = decide(false, Some("maybe"), true).unwrap_err().to_string();
        assert_eq!(err, "invalid value \"maybe\" for PREFECT_CLI_PROGRESS: expected true or false");
    }
}
