//! Rendering templates against a run's context.

use std::fmt::Write;

use chrono::format::Item;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::Value;

use super::{Field, KeyTemplate, Part, TemplateError};
use crate::storage::StorageKey;

/// `{date}` and `{scheduled_start_time}` without a format: ISO 8601 basic, UTC.
const DEFAULT_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// What a template can refer to in one run. Everything but the date is optional;
/// a template that uses an absent value fails to render, naming it.
///
/// # Examples
///
/// ```
/// use chrono::Utc;
/// use prefect_results::{KeyContext, KeyTemplate};
///
/// let params = serde_json::json!({"city": "Lyon", "day": 3});
/// let ctx = KeyContext::new(Utc::now()).task_name("fetch").parameters(&params);
/// let key = KeyTemplate::parse("{task_name}/{parameters.city}-{parameters[day]}")?.render(&ctx)?;
/// assert_eq!(key.as_str(), "fetch/Lyon-3");
/// # Ok::<(), prefect_results::TemplateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyContext<'a> {
    date: DateTime<Utc>,
    flow_name: Option<&'a str>,
    task_name: Option<&'a str>,
    flow_run_id: Option<&'a str>,
    task_run_id: Option<&'a str>,
    map_index: Option<usize>,
    task_run_count: Option<u32>,
    parameters: Option<&'a Value>,
    scheduled_start_time: Option<DateTime<Utc>>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),*) => {$(
        $(#[$doc])*
        pub const fn $name(mut self, $name: $ty) -> Self {
            self.$name = Some($name);
            self
        }
    )*};
}

impl<'a> KeyContext<'a> {
    /// A context for a run on `date` (UTC), with nothing else set.
    pub const fn new(date: DateTime<Utc>) -> Self {
        Self {
            date,
            flow_name: None,
            task_name: None,
            flow_run_id: None,
            task_run_id: None,
            map_index: None,
            task_run_count: None,
            parameters: None,
            scheduled_start_time: None,
        }
    }

    setters!(
        /// Sets `{flow_name}`.
        flow_name: &'a str,
        /// Sets `{task_name}`.
        task_name: &'a str,
        /// Sets `{flow_run.id}`.
        flow_run_id: &'a str,
        /// Sets `{task_run.id}`.
        task_run_id: &'a str,
        /// Sets `{map_index}` (the position of a mapped call).
        map_index: usize,
        /// Sets `{task_run_count}` (1 on the first attempt).
        task_run_count: u32,
        /// Sets the parameters `{parameters.x}` reads (a JSON object).
        parameters: &'a Value,
        /// Sets `{scheduled_start_time}`.
        scheduled_start_time: DateTime<Utc>
    );
}

impl KeyTemplate {
    /// Renders the key for one run.
    ///
    /// # Errors
    ///
    /// [`TemplateError::MissingValue`] or [`TemplateError::MissingParameter`]
    /// naming what the context lacks, [`TemplateError::UnrenderableParameter`]
    /// for an object or array, [`TemplateError::UnsafeKey`] if the result is
    /// not a safe relative key.
    pub fn render(&self, ctx: &KeyContext<'_>) -> Result<StorageKey, TemplateError> {
        let mut out = String::with_capacity(self.source.len() + 48);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(field) => render_field(field, ctx, &mut out)?,
            }
        }
        StorageKey::new(out).map_err(TemplateError::UnsafeKey)
    }
}

fn render_field(field: &Field, ctx: &KeyContext<'_>, out: &mut String) -> Result<(), TemplateError> {
    match field {
        Field::FlowName => out.push_str(need(ctx.flow_name, "flow_name")?),
        Field::TaskName => out.push_str(need(ctx.task_name, "task_name")?),
        Field::FlowRunId => out.push_str(need(ctx.flow_run_id, "flow_run.id")?),
        Field::TaskRunId => out.push_str(need(ctx.task_run_id, "task_run.id")?),
        Field::MapIndex => push_number(out, ctx.map_index, "map_index")?,
        Field::TaskRunCount => push_number(out, ctx.task_run_count, "task_run_count")?,
        Field::Date(items) => push_date(out, ctx.date, items.as_deref()),
        Field::ScheduledStartTime(items) => {
            let at = ctx
                .scheduled_start_time
                .ok_or(TemplateError::MissingValue { placeholder: "scheduled_start_time" })?;
            push_date(out, at, items.as_deref());
        }
        Field::Day { offset, nodash } => push_day(out, ctx.date.date_naive(), *offset, *nodash),
        Field::Parameter(path) => push_parameter(out, ctx.parameters, path)?,
    }
    Ok(())
}

fn need<'s>(value: Option<&'s str>, placeholder: &'static str) -> Result<&'s str, TemplateError> {
    value.ok_or(TemplateError::MissingValue { placeholder })
}

fn push_number<N: std::fmt::Display>(
    out: &mut String,
    n: Option<N>,
    placeholder: &'static str,
) -> Result<(), TemplateError> {
    let n = n.ok_or(TemplateError::MissingValue { placeholder })?;
    let _ = write!(out, "{n}");
    Ok(())
}

fn push_date(out: &mut String, at: DateTime<Utc>, items: Option<&[Item<'static>]>) {
    let _ = match items {
        Some(items) => write!(out, "{}", at.format_with_items(items.iter())),
        None => write!(out, "{}", at.format(DEFAULT_DATE_FORMAT)),
    };
}

fn push_day(out: &mut String, date: NaiveDate, offset: i8, nodash: bool) {
    let days = Days::new(u64::from(offset.unsigned_abs()));
    let day = match offset {
        0 => Some(date),
        o if o > 0 => date.checked_add_days(days),
        _ => date.checked_sub_days(days),
    };
    // Only the first and last representable days have no neighbour.
    let day = day.unwrap_or(date);
    let format = if nodash { "%Y%m%d" } else { "%Y-%m-%d" };
    let _ = write!(out, "{}", day.format(format));
}

fn push_parameter(out: &mut String, params: Option<&Value>, path: &[String]) -> Result<(), TemplateError> {
    let name = || path.join(".");
    let missing = || TemplateError::MissingParameter { name: name() };
    let mut value = params.ok_or_else(missing)?;
    for segment in path {
        value = match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(missing)?;
    }
    let unrenderable = |kind| TemplateError::UnrenderableParameter { name: name(), kind };
    match value {
        Value::String(s) => out.push_str(s),
        Value::Object(_) => return Err(unrenderable("an object")),
        Value::Array(_) => return Err(unrenderable("an array")),
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
    Ok(())
}

/// The template rendered with every placeholder as `x` (dates as a fixed
/// date): used at parse time to reject templates that cannot give a safe key.
pub(super) fn sample(parts: &[Part]) -> String {
    let date = DateTime::<Utc>::UNIX_EPOCH;
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Field(Field::Date(items) | Field::ScheduledStartTime(items)) => {
                push_date(&mut out, date, items.as_deref())
            }
            Part::Field(_) => out.push('x'),
        }
    }
    out
}
