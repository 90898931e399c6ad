//! Storage-key templates (`result_storage_key`, `target`): `"{flow_name}/{parameters.city}.json"`.
//!
//! The syntax is checked when the option is read, with the parser the engine renders
//! with (`prefect_results::validate_template`), so the two cannot disagree. The checks
//! that need the fn come later: `{parameters.x}` must name one of its parameters, and a
//! flow's template cannot use a placeholder only task runs have a value for (it would
//! fail every run).

use syn::parse::ParseStream;
use syn::{Error, LitStr};

use crate::args::Kind;
use crate::check::{self, CheckedFn, Param};
use crate::errors::Errors;
use crate::results::Given;

/// Placeholders with no value outside a task run.
const TASK_ONLY: [&str; 5] = ["task_name", "task_run.id", "task_run_id", "map_index", "task_run_count"];

/// Parses and validates the template of the option `option`.
pub(crate) fn parse(input: ParseStream, option: &str) -> syn::Result<LitStr> {
    let lit: LitStr = input.parse()?;
    prefect_results::validate_template(&lit.value())
        .map_err(|e| Error::new_spanned(&lit, format!("invalid `{option}` template: {e}")))?;
    Ok(lit)
}

/// Checks a parsed template's placeholders against the kind and the fn's parameters.
pub(crate) fn check(kind: Kind, template: &Given<LitStr>, func: &CheckedFn) -> syn::Result<()> {
    let (option, lit) = (&template.key, &template.value);
    let params: Vec<String> = func.params.iter().map(Param::name).collect();
    let mut errors = Errors::default();
    for name in placeholder_names(&lit.value()) {
        if kind == Kind::Flow && TASK_ONLY.contains(&name.as_str()) {
            let msg = format!(
                "`{{{name}}}` has no value in a flow's `{option}`: only task runs have it; \
                 use `{{flow_name}}`, `{{flow_run.id}}` or a parameter"
            );
            errors.push(Error::new_spanned(lit, msg));
        } else if let Some(param) = parameter(&name)
            && !params.iter().any(|p| p == param)
        {
            let msg = format!(
                "unknown parameter `{param}` in `{{{name}}}` in `{option}`; {}",
                check::parameter_list(func)
            );
            errors.push(Error::new_spanned(lit, msg));
        }
    }
    errors.finish()
}

/// The names of a valid template's placeholders (the text before any `:` format).
fn placeholder_names(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => drop(chars.next()),
            '{' => {
                let body: String = chars.by_ref().take_while(|&c| c != '}').collect();
                names.push(body.split(':').next().unwrap_or_default().to_owned());
            }
            _ => {}
        }
    }
    names
}

/// The parameter a placeholder reads (the first segment of `parameters.a.b` or
/// `parameters[a]`), if it reads one.
fn parameter(name: &str) -> Option<&str> {
    if let Some(path) = name.strip_prefix("parameters.") {
        return path.split('.').next();
    }
    name.strip_prefix("parameters[").and_then(|p| p.strip_suffix(']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholder_names() {
        let names = placeholder_names("{{lit}}/{flow_name}/{date:%Y-%m}/{parameters.a.b}-{parameters[c]}");
        assert_eq!(names, ["flow_name", "date", "parameters.a.b", "parameters[c]"]);
        assert!(placeholder_names("plain/{{x}}").is_empty());
    }

    #[test]
    fn finds_parameters() {
        assert_eq!(parameter("parameters.city.name"), Some("city"));
        assert_eq!(parameter("parameters[city]"), Some("city"));
        assert_eq!(parameter("flow_name"), None);
    }

    #[test]
    fn validates_with_the_engine_parser() {
        use syn::parse::Parser as _;
        let parse = |src: &str| (|input: ParseStream| parse(input, "target")).parse_str(src);
        assert!(parse("\"{task_name}/{parameters.x}.json\"").is_ok());
        let msg = parse("\"{task}\"").unwrap_err().to_string();
        assert!(
            msg.starts_with("invalid `target` template: unknown placeholder `{task}` at byte 0"),
            "{msg}"
        );
        assert!(parse("\"/abs/{task_name}\"").unwrap_err().to_string().contains("safe storage key"));
    }
}
