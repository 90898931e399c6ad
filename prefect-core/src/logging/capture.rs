//! The layer that turns events inside runs into run logs.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::context::Scope;
use crate::record::{self, LogRecord};

/// Records every event emitted inside a run as a log line of that run.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaptureLayer {
    _private: (),
}

impl CaptureLayer {
    pub(crate) fn new() -> Self {
        CaptureLayer { _private: () }
    }
}

impl<S: Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        Scope::with_current(|scope| {
            let Some(scope) = scope else { return };
            if scope.flow.is_none() && scope.task.is_none() {
                return;
            }
            let mut fields = FieldVisitor::default();
            event.record(&mut fields);
            let metadata = event.metadata();
            scope.recorder.record(record::Event::Log(Arc::new(LogRecord {
                timestamp: crate::clock::now(),
                level: super::log_level(*metadata.level()),
                message: fields.message,
                fields: fields.fields,
                target: metadata.target().to_string(),
                flow_run_id: scope.flow.as_ref().map(|f| f.id()),
                task_run_id: scope.task.as_ref().map(|t| t.id()),
            })));
        });
    }
}

/// Collects the `message` field as text and every other field as JSON.
#[derive(Default)]
struct FieldVisitor {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl FieldVisitor {
    fn insert(&mut self, field: &Field, value: serde_json::Value) {
        self.fields.insert(field.name().to_string(), value);
    }
}

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.insert(field, value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.insert(field, format!("{value:?}").into());
        }
    }
}
