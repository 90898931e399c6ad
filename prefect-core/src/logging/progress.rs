//! A progress bar per map on a terminal, and one summary line when it ends.
//!
//! A 10,000-item map would otherwise print 10,000 "Finished in state
//! Completed()" lines. With progress on (the `logging.progress` setting,
//! `PREFECT_LOGGING_PROGRESS`: `auto` shows it when stderr is a terminal,
//! `true` always, `false` never), each map draws a bar with its counts per
//! state, and the console leaves out the Completed line of each mapped run;
//! that line still goes to the run's logs, and failures still print. When
//! the map's last child ends, the bar is cleared and the flow logs one
//! summary line:
//!
//! ```text
//! 12:00:04.310 | INFO    | Flow run 'nightly-3f2' - Map of 'fetch' finished: 10000 task runs in 1.24s - 9998 Completed, 2 Failed
//! ```
//!
//! Console lines printed while bars are drawn go above them
//! ([`ConsoleWriter`]), so the bars are never torn.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;

use crate::context::Scope;
use crate::futures::Upstream;
use crate::state::StateType;

/// The `name` of the event that logs a run's final state, so the console
/// can recognise it without reading its message.
pub(crate) const FINISHED_EVENT: &str = "prefect::finished";

/// Every bar drawn by this process, stacked on stderr.
static BARS: LazyLock<MultiProgress> =
    LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));

/// Whether console lines go through `eprint!`, which the test harness
/// captures (set by [`crate::testing::harness`]).
static TEST_CAPTURE: AtomicBool = AtomicBool::new(false);

/// Sends console lines through the test harness's output capture.
pub(crate) fn capture_for_tests() {
    TEST_CAPTURE.store(true, Ordering::Relaxed);
}

/// How many bars are drawn now.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

static STDERR_IS_TERMINAL: LazyLock<bool> = LazyLock::new(|| std::io::stderr().is_terminal());

/// Whether maps started in `scope` show progress: the setting, `auto`
/// meaning "stderr is a terminal".
pub(crate) fn enabled(scope: &Scope) -> bool {
    scope.with_settings(|s| s.logging_progress).unwrap_or(*STDERR_IS_TERMINAL)
}

/// Whether the console leaves out an event: the Completed line of a mapped
/// run when progress is on (a bar counts it instead).
pub(crate) fn quiet_on_console(meta: &tracing::Metadata<'_>) -> bool {
    if meta.name() != FINISHED_EVENT || *meta.level() != tracing::Level::INFO {
        return false;
    }
    Scope::with_current(|scope| match scope {
        Some(scope @ Scope { task: Some(task), .. }) => task.map_index().is_some() && enabled(scope),
        _ => false,
    })
}

/// The counts of one map's children by final state.
#[derive(Debug)]
pub(crate) struct MapCounts {
    task: String,
    total: usize,
    by_state: BTreeMap<&'static str, usize>,
    started: Instant,
}

impl MapCounts {
    pub(crate) fn new(task: &str, total: usize) -> MapCounts {
        MapCounts { task: task.to_owned(), total, by_state: BTreeMap::new(), started: Instant::now() }
    }

    pub(crate) fn record(&mut self, state: StateType) {
        *self.by_state.entry(state_label(state)).or_default() += 1;
    }

    pub(crate) fn done(&self) -> usize {
        self.by_state.values().sum()
    }

    /// `9998 Completed, 2 Failed`, Completed first.
    pub(crate) fn counts(&self) -> String {
        let completed = self.by_state.get("Completed").map(|n| (&"Completed", n));
        let others = self.by_state.iter().filter(|(name, _)| **name != "Completed");
        let parts: Vec<String> =
            completed.into_iter().chain(others).map(|(name, n)| format!("{n} {name}")).collect();
        parts.join(", ")
    }

    /// The line the flow logs when the map has ended.
    pub(crate) fn summary(&self, elapsed: Duration) -> String {
        let counts = if self.total == 0 { "nothing mapped".to_owned() } else { self.counts() };
        format!("Map of '{}' finished: {} task runs in {:.2?} - {counts}", self.task, self.total, elapsed,)
    }
}

fn state_label(state: StateType) -> &'static str {
    match state {
        StateType::Completed => "Completed",
        StateType::Failed => "Failed",
        StateType::Crashed => "Crashed",
        StateType::Cancelled => "Cancelled",
        StateType::Cancelling => "Cancelling",
        StateType::Paused => "Paused",
        StateType::Pending => "Pending",
        StateType::Scheduled => "Scheduled",
        StateType::Running => "Running",
    }
}

/// Draws a bar for the map of `task` whose children are `children`,
/// counting their final states, and logs the summary line in `scope`
/// (the flow's) when the last one ends. Await the handle to have the
/// summary logged before going on.
pub(crate) fn watch(scope: Scope, task: &str, children: Vec<Upstream>) -> tokio::task::JoinHandle<()> {
    let mut counts = MapCounts::new(task, children.len());
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = BARS
        .add(ProgressBar::new(children.len() as u64).with_style(style).with_prefix(format!("map '{task}'")));
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    let bar = Shown(bar);
    let mut pending: FuturesUnordered<_> = children.iter().map(Upstream::wait_final).collect();
    tokio::spawn(async move {
        while let Some(meta) = pending.next().await {
            counts.record(meta.state_type);
            bar.0.set_position(counts.done() as u64);
            bar.0.set_message(counts.counts());
        }
        drop(bar);
        let line = counts.summary(counts.started.elapsed());
        scope.enter_sync(|| tracing::info!("{line}"));
    })
}

/// A drawn bar; clears itself when dropped, also when the runtime drops
/// the watcher unfinished.
struct Shown(ProgressBar);

impl Drop for Shown {
    fn drop(&mut self) {
        self.0.finish_and_clear();
        BARS.remove(&self.0);
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writes console lines to stderr above any progress bars.
///
/// prefect's default subscriber writes with it; a program that installs
/// its own subscriber with [`ConsoleFormat`](super::ConsoleFormat) can pass
/// it to `with_writer` for the same output.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsoleWriter;

impl Write for ConsoleWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if TEST_CAPTURE.load(Ordering::Relaxed) {
            // Only `eprint!` reaches libtest's capture; a direct write would not.
            eprint!("{}", String::from_utf8_lossy(buf));
            return Ok(buf.len());
        }
        if ACTIVE.load(Ordering::Acquire) == 0 {
            return std::io::stderr().write(buf);
        }
        // The formatter hands over a whole event at once: print it above the bars.
        BARS.suspend(|| std::io::stderr().write_all(buf)).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for ConsoleWriter {
    type Writer = ConsoleWriter;

    fn make_writer(&'a self) -> ConsoleWriter {
        ConsoleWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_summary() {
        let mut counts = MapCounts::new("fetch", 5);
        for state in [StateType::Failed, StateType::Completed, StateType::Completed, StateType::Crashed] {
            counts.record(state);
        }
        assert_eq!(counts.done(), 4);
        assert_eq!(counts.counts(), "2 Completed, 1 Crashed, 1 Failed");
        counts.record(StateType::Completed);
        let line = counts.summary(Duration::from_millis(1240));
        assert_eq!(line, "Map of 'fetch' finished: 5 task runs in 1.24s - 3 Completed, 1 Crashed, 1 Failed");
        assert_eq!(
            MapCounts::new("x", 0).summary(Duration::ZERO),
            "Map of 'x' finished: 0 task runs in 0.00ns - nothing mapped"
        );
    }
}
