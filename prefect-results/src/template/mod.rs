//! Storage-key templates, as in Prefect's `result_storage_key` and Prefect 1's
//! `location=` / `target=`.
//!
//! A template is checked once by [`KeyTemplate::parse`] (or
//! [`validate_template`], which needs no run context and is meant for
//! compile-time checks in the macro crate) and rendered per run against a
//! [`KeyContext`] into a [`StorageKey`].
//!
//! # Grammar
//!
//! ```text
//! template     = { literal | "{{" | "}}" | placeholder }
//! placeholder  = "{" name [ ":" strftime ] "}"
//! name         = "flow_name" | "task_name"
//!              | "flow_run.id" | "task_run.id"      (also "flow_run_id", "task_run_id")
//!              | "map_index" | "task_run_count"
//!              | "date" | "scheduled_start_time"    (the only names that take ":strftime")
//!              | "today" | "yesterday" | "tomorrow"
//!              | "today_nodash" | "yesterday_nodash" | "tomorrow_nodash"
//!              | "parameters." path | "parameters[" segment "]"
//! path         = segment { "." segment }           (object fields or array indexes)
//! segment      = 1*( ALPHA | DIGIT | "_" | "-" )
//! literal      = any characters but "{" and "}"
//! ```
//!
//! Rendering: `date` is the run's date (UTC); `{date}` alone renders as
//! `%Y%m%dT%H%M%SZ` and `{date:%A}` with any chrono strftime format (checked at
//! parse time). `today` is `YYYY-MM-DD` of that date, `yesterday` and
//! `tomorrow` one day off, `_nodash` variants `YYYYMMDD`. `scheduled_start_time`
//! renders like `date`. Parameters render strings verbatim, numbers and
//! booleans in JSON form, `null` as `null`; objects and arrays must be indexed
//! down to a scalar. A placeholder with no value in the context (say,
//! `{map_index}` in an unmapped run) or a missing parameter is an error naming
//! it.
//!
//! Safety: the rendered key must be a valid [`StorageKey`] (relative, no `..`,
//! no hidden segments), so a parameter value of `../x` is rejected, not
//! followed. A template that could never render a safe key (`/abs/{task_name}`,
//! `../{task_name}`) is rejected at parse time.
//!
//! # Examples
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use prefect_results::{KeyContext, KeyTemplate};
//!
//! let template = KeyTemplate::parse("{flow_name}/{date:%A}/{task_name}-{map_index}.json")?;
//! let date = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
//! let ctx = KeyContext::new(date).flow_name("etl").task_name("fetch").map_index(3);
//! assert_eq!(template.render(&ctx)?.as_str(), "etl/Friday/fetch-3.json");
//!
//! let err = KeyTemplate::parse("{flow}/x").unwrap_err();
//! assert!(err.to_string().contains("valid placeholders"));
//! # Ok::<(), prefect_results::TemplateError>(())
//! ```

mod error;
mod parse;
mod render;

use std::fmt;

use chrono::format::Item;

pub use error::TemplateError;
pub use render::KeyContext;

use crate::storage::StorageKey;

/// The placeholders a template may use, as listed in errors.
pub const PLACEHOLDERS: &[&str] = &[
    "flow_name",
    "task_name",
    "flow_run.id",
    "task_run.id",
    "map_index",
    "task_run_count",
    "parameters.<name>",
    "date",
    "date:<strftime>",
    "today",
    "yesterday",
    "tomorrow",
    "today_nodash",
    "yesterday_nodash",
    "tomorrow_nodash",
    "scheduled_start_time",
    "scheduled_start_time:<strftime>",
];

/// Checks a template's syntax, placeholders and date formats without any run
/// context.
///
/// # Errors
///
/// The [`TemplateError`] [`KeyTemplate::parse`] would return.
///
/// # Examples
///
/// ```
/// use prefect_results::validate_template;
///
/// assert!(validate_template("{flow_name}/{parameters.city}-{today_nodash}.json").is_ok());
/// assert!(validate_template("{task}").is_err());
/// assert!(validate_template("{date:%Q}").is_err());
/// ```
pub fn validate_template(template: &str) -> Result<(), TemplateError> {
    KeyTemplate::parse(template).map(drop)
}

/// A parsed storage-key template (grammar in the [module docs](self)).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    source: String,
    parts: Vec<Part>,
}

impl KeyTemplate {
    /// Parses and validates `template`.
    ///
    /// # Errors
    ///
    /// A [`TemplateError`] naming the byte position of an unknown placeholder
    /// (listing the valid ones), an unbalanced brace, a bad strftime format or
    /// parameter path, or a template that cannot render a safe key.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let parts = parse::parse(template)?;
        let parsed = Self { source: template.to_owned(), parts };
        parsed.check_safe()?;
        Ok(parsed)
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True if the template has no placeholders (a fixed key).
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// True if the key differs between calls with different arguments: the
    /// template uses `{parameters.x}`, or a run id or map index (which differ
    /// per call anyway).
    pub fn varies_with_inputs(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                Part::Field(Field::Parameter(_) | Field::TaskRunId | Field::MapIndex | Field::FlowRunId)
            )
        })
    }

    /// Renders with every placeholder as `x` and checks the result is a key.
    fn check_safe(&self) -> Result<(), TemplateError> {
        let sample = render::sample(&self.parts);
        match StorageKey::new(sample) {
            Ok(_) => Ok(()),
            Err(source) => Err(TemplateError::UnsafeTemplate { template: self.source.clone(), source }),
        }
    }
}

impl fmt::Debug for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyTemplate({:?})", self.source)
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for KeyTemplate {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, TemplateError> {
        Self::parse(s)
    }
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(Field),
}

/// A placeholder, resolved to what it reads from the [`KeyContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    FlowName,
    TaskName,
    FlowRunId,
    TaskRunId,
    MapIndex,
    TaskRunCount,
    Date(Option<Vec<Item<'static>>>),
    ScheduledStartTime(Option<Vec<Item<'static>>>),
    Day { offset: i8, nodash: bool },
    Parameter(Vec<String>),
}

#[cfg(test)]
mod tests;
