//! Console output in Prefect's shape: `time | LEVEL | run - message`.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::context::Scope;

/// Formats events as `12:00:01.123 | INFO    | Task run 'fetch-3f2' - message`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsoleFormat;

impl<S, N> FormatEvent<S, N> for ConsoleFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if super::progress::quiet_on_console(event.metadata()) {
            // A progress bar counts this mapped run instead.
            return Ok(());
        }
        let time = chrono::Local::now().format("%H:%M:%S%.3f");
        let level = match *event.metadata().level() {
            Level::TRACE => "TRACE",
            Level::DEBUG => "DEBUG",
            Level::INFO => "INFO",
            Level::WARN => "WARNING",
            Level::ERROR => "ERROR",
        };
        write!(writer, "{time} | {level:<7} | ")?;
        Scope::with_current(|scope| match scope {
            Some(Scope { task: Some(task), .. }) => write!(writer, "Task run '{}'", task.name()),
            Some(Scope { flow: Some(flow), .. }) => write!(writer, "Flow run '{}'", flow.name()),
            _ => write!(writer, "{}", event.metadata().target()),
        })?;
        writer.write_str(" - ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
