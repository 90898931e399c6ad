//! Run-name templates: `"fetch-{url}"`, where each `{name}` is a parameter of the fn.
//!
//! The template is handed to `format!` with one named argument per placeholder, so it
//! follows `format!` syntax: `{{` and `}}` are literal braces and `{name:spec}` applies
//! a format spec. This module only finds the placeholder names, so that an unknown one
//! is a clear error instead of a confusing `format!` failure.

/// The distinct placeholder names of `template`, in order of first use.
///
/// # Errors
/// An unmatched brace, or a placeholder that is not a plain name (`{}`, `{0}`).
pub(crate) fn placeholders(template: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => drop(chars.next()),
            '}' if chars.peek() == Some(&'}') => drop(chars.next()),
            '}' => return Err("unmatched `}` in the run name; write `}}` for a literal brace".into()),
            '{' => {
                let name = placeholder(&mut chars)?;
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// Reads the inside of one `{..}` (after the `{`), returning the name before any `:`.
fn placeholder(chars: &mut impl Iterator<Item = char>) -> Result<String, String> {
    let mut inner = String::new();
    loop {
        match chars.next() {
            Some('}') => break,
            Some(c) => inner.push(c),
            None => return Err("unmatched `{` in the run name; write `{{` for a literal brace".into()),
        }
    }
    let name = inner.split(':').next().unwrap_or_default().trim().to_owned();
    if !is_ident(&name) {
        let msg = format!("`{{{inner}}}` in the run name must name a parameter, as in `{{url}}`");
        return Err(msg);
    }
    Ok(name)
}

fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
    first && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names() {
        assert_eq!(placeholders("etl-{date}-{n}-{date}").unwrap(), ["date", "n"]);
        assert_eq!(placeholders("{n:>4}").unwrap(), ["n"]);
        assert!(placeholders("plain").unwrap().is_empty());
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert!(placeholders("{{json}}").unwrap().is_empty());
        assert_eq!(placeholders("{{{x}}}").unwrap(), ["x"]);
    }

    #[test]
    fn rejects_malformed() {
        assert!(placeholders("a{b").unwrap_err().starts_with("unmatched `{`"));
        assert!(placeholders("a}b").unwrap_err().starts_with("unmatched `}`"));
        assert!(placeholders("{}").unwrap_err().contains("must name a parameter"));
        assert!(placeholders("{0}").unwrap_err().contains("`{0}`"));
    }
}
