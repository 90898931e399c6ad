//! The template parser (grammar in the module docs).

use chrono::format::{Item, StrftimeItems};

use super::{Field, Part, TemplateError};

/// Splits `src` into literals and placeholders.
pub(super) fn parse(src: &str) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut pos = 0;
    while let Some(found) = src[pos..].find(['{', '}']) {
        let at = pos + found;
        literal.push_str(&src[pos..at]);
        let brace = src.as_bytes()[at];
        if src.as_bytes().get(at + 1) == Some(&brace) {
            literal.push(char::from(brace));
            pos = at + 2;
            continue;
        }
        if brace == b'}' {
            return Err(TemplateError::Unmatched { position: at });
        }
        let end = closing(src, at)?;
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        parts.push(Part::Field(field(&src[at + 1..end], at)?));
        pos = end + 1;
    }
    literal.push_str(&src[pos..]);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The index of the `}` closing the `{` at `open`.
fn closing(src: &str, open: usize) -> Result<usize, TemplateError> {
    let unclosed = TemplateError::Unclosed { position: open };
    match src[open + 1..].find(['{', '}']) {
        Some(i) if src.as_bytes()[open + 1 + i] == b'}' => Ok(open + 1 + i),
        _ => Err(unclosed),
    }
}

/// Resolves one placeholder body (`name` or `name:format`).
fn field(body: &str, position: usize) -> Result<Field, TemplateError> {
    let (name, format) = match body.split_once(':') {
        Some((name, format)) => (name, Some(format)),
        None => (body, None),
    };
    let dated = |make: fn(Option<Vec<Item<'static>>>) -> Field| {
        let items = format.map(|f| strftime(f, position)).transpose()?;
        Ok(make(items))
    };
    match name {
        "date" => return dated(Field::Date),
        "scheduled_start_time" => return dated(Field::ScheduledStartTime),
        _ => {}
    }
    if format.is_some() {
        return Err(if simple(name, position).is_ok() {
            TemplateError::FormatNotAllowed { name: name.to_owned(), position }
        } else {
            unknown(body, position)
        });
    }
    simple(name, position)
}

/// Placeholders without a format.
fn simple(name: &str, position: usize) -> Result<Field, TemplateError> {
    let day = |offset, nodash| Ok(Field::Day { offset, nodash });
    match name {
        "flow_name" => Ok(Field::FlowName),
        "task_name" => Ok(Field::TaskName),
        "flow_run.id" | "flow_run_id" => Ok(Field::FlowRunId),
        "task_run.id" | "task_run_id" => Ok(Field::TaskRunId),
        "map_index" => Ok(Field::MapIndex),
        "task_run_count" => Ok(Field::TaskRunCount),
        "today" => day(0, false),
        "yesterday" => day(-1, false),
        "tomorrow" => day(1, false),
        "today_nodash" => day(0, true),
        "yesterday_nodash" => day(-1, true),
        "tomorrow_nodash" => day(1, true),
        _ => parameter(name, position),
    }
}

/// `parameters.a.b` or `parameters[a]`.
fn parameter(name: &str, position: usize) -> Result<Field, TemplateError> {
    let path = if let Some(path) = name.strip_prefix("parameters.") {
        path
    } else if let Some(path) = name.strip_prefix("parameters[").and_then(|p| p.strip_suffix(']')) {
        if path.contains('.') {
            return Err(bad_parameter(path, position));
        }
        path
    } else {
        return Err(unknown(name, position));
    };
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    if segments.iter().any(|s| !valid_segment(s)) {
        return Err(bad_parameter(path, position));
    }
    Ok(Field::Parameter(segments))
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn strftime(format: &str, position: usize) -> Result<Vec<Item<'static>>, TemplateError> {
    let invalid = || TemplateError::InvalidDateFormat { format: format.to_owned(), position };
    if format.is_empty() {
        return Err(invalid());
    }
    StrftimeItems::new(format).parse_to_owned().map_err(|_| invalid())
}

fn unknown(name: &str, position: usize) -> TemplateError {
    TemplateError::UnknownPlaceholder { name: name.to_owned(), position }
}

fn bad_parameter(path: &str, position: usize) -> TemplateError {
    TemplateError::InvalidParameter { path: path.to_owned(), position }
}
