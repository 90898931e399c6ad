//! Rendering: aligned tables, state colours, times, durations and JSON.

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Local, TimeDelta, Utc};
use prefect_model::{StateMeta, StateType};
use serde_json::Value;

/// Where command output goes, and how it looks.
pub(crate) struct Output {
    out: io::StdoutLock<'static>,
    color: bool,
    /// Whether `--json` was given.
    pub(crate) json: bool,
}

impl Output {
    /// Stdout, coloured only on a terminal and when `NO_COLOR` is unset.
    pub(crate) fn stdout(json: bool) -> Self {
        let stdout = io::stdout();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = !json && !no_color && stdout.is_terminal();
        Output { out: stdout.lock(), color, json }
    }

    /// Writes one line.
    pub(crate) fn line(&mut self, text: impl std::fmt::Display) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    /// Writes `value` as pretty JSON.
    pub(crate) fn json(&mut self, value: &Value) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, value)?;
        writeln!(self.out)
    }

    /// Writes `value` as one line of JSON (for streams such as logs).
    pub(crate) fn json_line(&mut self, value: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        writeln!(self.out)
    }

    /// Flushes what was written (needed while following logs).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// A state as a table cell: its name, coloured by its type.
    pub(crate) fn state_cell(&self, state: Option<&StateMeta>) -> Cell {
        match state {
            Some(state) => self.paint(state.name.to_string(), state_color(state.state_type)),
            None => Cell::plain("-"),
        }
    }

    /// `text` in `color` when colours are on.
    pub(crate) fn paint(&self, text: String, color: &'static str) -> Cell {
        Cell { text, color: self.color.then_some(color) }
    }

    /// Writes `table` with aligned columns.
    pub(crate) fn table(&mut self, table: &Table) -> io::Result<()> {
        let widths = table.widths();
        self.row(&table.headers.iter().map(|h| Cell::plain(*h)).collect::<Vec<_>>(), &widths)?;
        for row in &table.rows {
            self.row(row, &widths)?;
        }
        Ok(())
    }

    fn row(&mut self, cells: &[Cell], widths: &[usize]) -> io::Result<()> {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let last = i + 1 == cells.len();
            let pad = if last { 0 } else { width - cell.width() + 2 };
            line.push_str(&cell.to_string());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        writeln!(self.out, "{}", line.trim_end())
    }
}

/// The ANSI colour of a state type.
fn state_color(state_type: StateType) -> &'static str {
    match state_type {
        StateType::Completed => "32",
        StateType::Failed | StateType::Crashed => "31",
        StateType::Running => "34",
        StateType::Cancelling | StateType::Cancelled => "90",
        StateType::Scheduled | StateType::Pending | StateType::Paused => "33",
    }
}

/// One table cell.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    text: String,
    color: Option<&'static str>,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.color {
            Some(color) => write!(f, "\x1b[{color}m{}\x1b[0m", self.text),
            None => f.write_str(&self.text),
        }
    }
}

impl Cell {
    /// A cell without colour.
    pub(crate) fn plain(text: impl Into<String>) -> Self {
        Cell { text: text.into(), color: None }
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }
}

/// A table: headers and rows of cells.
#[derive(Debug)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these column headers.
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    /// Appends a row.
    pub(crate) fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.width());
            }
        }
        widths
    }
}

/// A time in the local zone, to the second.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A time in the local zone, to the millisecond (log lines, ambiguities).
pub(crate) fn time_ms(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// An optional time, `-` when absent.
pub(crate) fn opt_time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// How long a run took (or has taken so far), `-` before it started.
pub(crate) fn run_duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    match start {
        Some(start) => duration(end.unwrap_or_else(Utc::now) - start),
        None => "-".to_owned(),
    }
}

/// A duration for people: `850ms`, `12.3s`, `4m 05s`, `2h 10m`.
pub(crate) fn duration(delta: TimeDelta) -> String {
    let ms = delta.num_milliseconds().max(0);
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1e3),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, ms / 1_000 % 60),
        _ => format!("{}h {:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// Seconds between two times, for JSON.
pub(crate) fn seconds(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Value {
    match (start, end) {
        (Some(start), Some(end)) => Value::from((end - start).num_microseconds().unwrap_or(0) as f64 / 1e6),
        _ => Value::Null,
    }
}

/// A state as JSON (`type`, `name`, `message`, `timestamp`, ...).
pub(crate) fn state_json(state: Option<&StateMeta>) -> Value {
    state.and_then(|s| serde_json::to_value(s).ok()).unwrap_or(Value::Null)
}

/// The short id of a run, as people copy it: its last 12 hex digits.
pub(crate) fn short_id(id: impl Into<prefect_model::RunId>) -> String {
    prefect_store::ShortId::of(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(TimeDelta::milliseconds(850)), "850ms");
        assert_eq!(duration(TimeDelta::milliseconds(12_345)), "12.3s");
        assert_eq!(duration(TimeDelta::seconds(245)), "4m 05s");
        assert_eq!(duration(TimeDelta::minutes(130)), "2h 10m");
        assert_eq!(duration(TimeDelta::seconds(-3)), "0ms");
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut table = Table::new(&["A", "BB"]);
        table.push(vec![Cell::plain("long"), Cell::plain("x")]);
        assert_eq!(table.widths(), [4, 2]);
    }
}
