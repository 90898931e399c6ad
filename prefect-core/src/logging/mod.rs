//! Run logs through `tracing`.
//!
//! Every `tracing` event emitted inside a run becomes a log line of that
//! run (level, message, fields, timestamp, flow and task run ids), sent to
//! the run's recorder by [`CaptureLayer`]. Console output reads like
//! Prefect's:
//!
//! ```text
//! 12:00:01.123 | INFO    | Task run 'fetch-3f2' - Finished in state Completed()
//! ```
//!
//! When the program has not installed a `tracing` subscriber, the first run
//! installs one with both; the level comes from `PREFECT_LOGGING_LEVEL`,
//! else `RUST_LOG`, else the `logging.level` setting (`prefect.toml`, the
//! active profile), else INFO. A program with its own subscriber adds
//! [`layer()`] to it (and [`ConsoleFormat`] if it wants the same output).
//!
//! Log from a run with the re-exported `tracing` macros (`prefect::info!`,
//! `warn!`, `error!`, `debug!`, `trace!`, also in the prelude), or with
//! Prefect's [`get_run_logger()`]:
//!
//! ```
//! use prefect_core::{Task, get_run_logger, info, task_call};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let h = prefect_core::testing::harness();
//! let rows = task_call(Task::new("load"), || async {
//!     info!(table = "orders", "loading");
//!     get_run_logger()?.info("loaded 3 rows");
//!     Ok::<_, prefect_core::Error>(3)
//! });
//! assert_eq!(h.run(rows).await.unwrap(), 3);
//! # }
//! ```
//!
//! # Maps on a terminal
//!
//! On a terminal each map draws a progress bar with its counts per state
//! instead of printing one Completed line per child (those lines still go
//! to the runs' logs; failures still print), then the flow logs one
//! summary line. The `logging.progress` setting (`PREFECT_LOGGING_PROGRESS`)
//! is `auto` (a terminal only), `true` or `false`.
//!
//! # `log_prints`
//!
//! With `log_prints` on (`#[task(log_prints = true)]`, `.log_prints(true)`,
//! inherited by the runs a run calls, else the setting
//! `PREFECT_LOGGING_LOG_PRINTS`), what a run prints with
//! [`prefect::println!`](crate::println) and [`prefect::print!`](crate::print)
//! becomes an INFO line of its logs (target [`PRINT_TARGET`]); elsewhere
//! the two print to stdout like std's.
//!
//! `std::println!` is not captured: stdout is one descriptor for the whole
//! process and a worker thread runs many runs in turn, so a captured line
//! could not be honestly attributed to one run. The pair is not in the
//! prelude either, because a glob import named `println` is ambiguous with
//! std's; write the path.

mod capture;
mod console;
mod print;
pub(crate) mod progress;
mod run_logger;

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

pub use capture::CaptureLayer;
pub use console::ConsoleFormat;
#[doc(hidden)]
pub use print::print_fmt;
pub use print::{PRINT_TARGET, logs_prints};
pub use progress::ConsoleWriter;
pub use run_logger::{RunLogger, get_run_logger};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::settings::LogLevel;
use tracing_subscriber::layer::SubscriberExt;

use crate::error::Error;

static CAPTURE_INSTALLED: AtomicBool = AtomicBool::new(false);

/// The layer that records run logs; add it to your own subscriber.
pub fn layer() -> CaptureLayer {
    CAPTURE_INSTALLED.store(true, Ordering::Relaxed);
    CaptureLayer::new()
}

static INIT: Once = Once::new();

/// Installs prefect's subscriber with `level` (`"warning"`, `"debug"`, ...)
/// instead of the level from the environment, unless a subscriber is
/// already installed.
///
/// # Errors
/// [`Error::InvalidOption`] for a level that is not one of TRACE, DEBUG,
/// INFO, WARNING, ERROR, CRITICAL, OFF.
pub fn init_with_level(level: &str) -> Result<(), Error> {
    let directive = prefect_level(level).ok_or_else(|| Error::InvalidOption {
        option: "logging level",
        reason: format!("`{level}` is not one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL, OFF"),
    })?;
    INIT.call_once(|| install(filter_at(directive)));
    Ok(())
}

/// Installs prefect's subscriber (console output and run-log capture)
/// unless the program already set one. Called by the engine at the first
/// run; calling it earlier is harmless.
pub fn ensure_init() {
    INIT.call_once(|| install(level_filter()));
}

fn install(filter: EnvFilter) {
    {
        if tracing::dispatcher::has_been_set() {
            if !CAPTURE_INSTALLED.load(Ordering::Relaxed) {
                tracing::warn!(
                    "a tracing subscriber is already installed without prefect's layer: run logs will not be recorded; add prefect::logging::layer() to it"
                );
            }
            return;
        }
        let console = tracing_subscriber::fmt::layer()
            .event_format(ConsoleFormat)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(ConsoleWriter);
        let subscriber = tracing_subscriber::registry().with(filter).with(console).with(layer());
        // Another thread may have won the race; its subscriber stays.
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// The level filter from `PREFECT_LOGGING_LEVEL`, else `RUST_LOG`, else INFO.
fn level_filter() -> EnvFilter {
    if let Ok(level) = std::env::var("PREFECT_LOGGING_LEVEL") {
        return match prefect_level(&level) {
            Some(directive) => filter_at(directive),
            None => {
                eprintln!(
                    "prefect: PREFECT_LOGGING_LEVEL={level:?} is not a level (expected one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL); using INFO"
                );
                EnvFilter::new("info")
            }
        };
    }
    match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives).unwrap_or_else(|e| {
            eprintln!("prefect: RUST_LOG={directives:?} is not a valid filter ({e}); using INFO");
            EnvFilter::new("info")
        }),
        // prefect.toml, the active profile, Prefect 1's config.toml.
        Err(_) => filter_at(LevelFilter::from_level(tracing_level(crate::settings::current().logging_level))),
    }
}

/// Reads a level name with the settings' rules (Prefect's names, `WARN`
/// too, any case), plus `OFF`, which only the console has.
fn prefect_level(level: &str) -> Option<LevelFilter> {
    let level = level.trim();
    if level.eq_ignore_ascii_case("off") {
        return Some(LevelFilter::OFF);
    }
    level.parse::<LogLevel>().ok().map(|l| LevelFilter::from_level(tracing_level(l)))
}

/// The closest `tracing` level (`CRITICAL` maps to `ERROR`, `tracing`'s highest).
pub fn tracing_level(level: LogLevel) -> tracing::Level {
    match level {
        LogLevel::Trace => tracing::Level::TRACE,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warning => tracing::Level::WARN,
        _ => tracing::Level::ERROR,
    }
}

/// The level of a log line emitted at `level`.
pub fn log_level(level: tracing::Level) -> LogLevel {
    match level {
        tracing::Level::TRACE => LogLevel::Trace,
        tracing::Level::DEBUG => LogLevel::Debug,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::WARN => LogLevel::Warning,
        tracing::Level::ERROR => LogLevel::Error,
    }
}

fn filter_at(level: LevelFilter) -> EnvFilter {
    EnvFilter::default().add_directive(level.into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefect_level_names() {
        use tracing_subscriber::filter::LevelFilter;
        assert_eq!(super::prefect_level("WARNING"), Some(LevelFilter::WARN));
        assert_eq!(super::prefect_level("critical"), Some(LevelFilter::ERROR));
        assert_eq!(super::prefect_level("loud"), None);
    }
}
