//! `log_prints`: what a run prints with [`prefect::println!`](crate::println)
//! becomes a line of its logs.
//!
//! Rust gives no honest way to capture `std::println!` per run: stdout is one
//! file descriptor shared by every thread, and one worker thread interleaves
//! many runs, so a captured line could not be attributed to the run that
//! printed it. Instead prefect has its own `print!`/`println!` pair. They
//! print to stdout like std's, except inside a run whose `log_prints` is on
//! (the task's or flow's option, else the enclosing run's, else the setting
//! `logging.log_prints` / `PREFECT_LOGGING_LOG_PRINTS`): there the text is an
//! INFO log line of that run (target `prefect::print`), shown on the console
//! and recorded like any other log. Each call is one log line.
//!
//! The pair cannot be in [`prelude`](crate) under std's names (a glob import
//! of `println` is ambiguous with std's), so call them by path:
//! `prefect::println!("fetched {n} rows")`.

use std::fmt;
use std::io::Write as _;

use crate::context::Scope;

/// The target of the log lines `log_prints` makes.
pub const PRINT_TARGET: &str = "prefect::print";

/// What [`crate::print!`] and [`crate::println!`] call.
#[doc(hidden)]
pub fn print_fmt(args: fmt::Arguments<'_>, newline: bool) {
    if logs_prints() {
        let text = args.to_string();
        let text = text.strip_suffix('\n').unwrap_or(&text);
        tracing::info!(target: PRINT_TARGET, "{text}");
        return;
    }
    let mut out = std::io::stdout().lock();
    // Like std's print!, except that a closed stdout is not a panic.
    let _ = if newline { writeln!(out, "{args}") } else { write!(out, "{args}") };
}

/// True inside a run whose prints are its logs.
pub fn logs_prints() -> bool {
    Scope::with_current(|scope| {
        let Some(scope) = scope else { return false };
        if scope.flow.is_none() && scope.task.is_none() {
            return false;
        }
        scope.log_prints().unwrap_or_else(|| scope.with_settings(|s| s.logging_log_prints))
    })
}

/// Prints like `std::print!`; inside a run with `log_prints` on, the text is
/// a log line of the run instead. See [`logging`](crate::logging#log_prints).
///
/// ```
/// prefect_core::print!("{} + {} = ", 1, 2);
/// prefect_core::println!("{}", 3);
/// ```
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::logging::print_fmt(::core::format_args!($($arg)*), false)
    };
}

/// Prints a line like `std::println!`; inside a run with `log_prints` on, the
/// line is a log line of the run instead. See
/// [`logging`](crate::logging#log_prints).
///
/// ```
/// prefect_core::println!("fetched {} rows", 12);
/// prefect_core::println!();
/// ```
#[macro_export]
macro_rules! println {
    () => {
        $crate::logging::print_fmt(::core::format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::logging::print_fmt(::core::format_args!($($arg)*), true)
    };
}
