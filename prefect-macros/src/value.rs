//! Typed option values: durations, retry delays, counts, string and path lists.
//!
//! Every value is checked here, at compile time, so a bad one is an error on the
//! literal that holds it.

use std::time::Duration;

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Error, Expr, ExprLit, Lit, LitBool, LitStr, Path, Token, bracketed, parenthesized};

/// The most entries a `retry_delay = [..]` list may hold (as in Prefect).
pub(crate) const MAX_RETRY_DELAYS: usize = 50;

/// A checked value with the span of the tokens it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// The `retry_delay` option.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RetryDelay {
    /// `retry_delay = "2s"`
    Fixed(Duration),
    /// `retry_delay = ["1s", "10s"]`
    List(Vec<Duration>),
    /// `retry_delay = exponential("1s")`
    Exponential(Duration),
}

/// The `task_runner` option of a flow.
#[derive(Debug, Clone)]
pub(crate) enum TaskRunner {
    /// `task_runner = sequential`: one task at a time, in submission order.
    Sequential,
    /// `task_runner = concurrent`: the default runner.
    Concurrent,
    /// `task_runner = path::to::factory`: a `fn() -> impl TaskRunner`.
    Factory(Path),
}

mod kw {
    syn::custom_keyword!(exponential);
}

/// Parses a string literal.
pub(crate) fn string(input: ParseStream) -> syn::Result<LitStr> {
    input.parse()
}

/// Parses `["a", "b"]`.
pub(crate) fn string_list(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    if !input.peek(syn::token::Bracket) {
        return Err(input.error("expected a list of strings, such as [\"api\", \"daily\"]"));
    }
    let content;
    bracketed!(content in input);
    let items = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    Ok(items.into_iter().collect())
}

/// Parses `path` or `[path, ..]`.
pub(crate) fn path_list(input: ParseStream) -> syn::Result<Vec<Path>> {
    if !input.peek(syn::token::Bracket) {
        return Ok(vec![input.parse()?]);
    }
    let content;
    bracketed!(content in input);
    let items = Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
    Ok(items.into_iter().collect())
}

/// Parses a non-negative integer literal such as `3`.
pub(crate) fn retries(input: ParseStream) -> syn::Result<Spanned<u32>> {
    const MSG: &str = "retries must be a non-negative integer";
    let expr: Expr = input.parse()?;
    let Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) = &expr else {
        return Err(Error::new_spanned(&expr, MSG));
    };
    let value = lit.base10_parse::<u32>().map_err(|_| Error::new_spanned(lit, MSG))?;
    Ok(Spanned { value, span: lit.span() })
}

/// Parses a non-negative float or integer literal such as `0.5`.
pub(crate) fn jitter(input: ParseStream) -> syn::Result<Spanned<f64>> {
    const MSG: &str = "retry_jitter must be a non-negative number, such as 0.5";
    let expr: Expr = input.parse()?;
    let value = match &expr {
        Expr::Lit(ExprLit { lit: Lit::Float(lit), .. }) => lit.base10_parse::<f64>(),
        Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => lit.base10_parse::<f64>(),
        _ => return Err(Error::new_spanned(&expr, MSG)),
    };
    match value {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(Spanned { value, span: expr.span() }),
        _ => Err(Error::new_spanned(&expr, MSG)),
    }
}

/// Parses the `timeout`: a positive duration string such as `"30s"`.
pub(crate) fn timeout(input: ParseStream) -> syn::Result<Spanned<Duration>> {
    positive_duration(input, "timeout")
}

/// Parses a positive duration string such as `"1d"` for the option `option`.
pub(crate) fn positive_duration(input: ParseStream, option: &str) -> syn::Result<Spanned<Duration>> {
    let lit: LitStr = input.parse().map_err(|e| {
        let msg = format!("{option} must be a duration string, such as \"30s\" or \"1d\"");
        Error::new(e.span(), msg)
    })?;
    let value = duration(&lit)?;
    if value.is_zero() {
        return Err(Error::new_spanned(&lit, format!("{option} must be greater than zero")));
    }
    Ok(Spanned { value, span: lit.span() })
}

/// Parses `true` or `false` for the option `option`.
pub(crate) fn boolean(input: ParseStream, option: &str) -> syn::Result<Spanned<bool>> {
    let lit: LitBool = input.parse().map_err(|e| {
        let msg = format!("{option} must be `true` or `false`");
        Error::new(e.span(), msg)
    })?;
    Ok(Spanned { value: lit.value, span: lit.span })
}

/// Parses `"2s"`, `["1s", "10s"]` or `exponential("1s")`.
pub(crate) fn retry_delay(input: ParseStream) -> syn::Result<RetryDelay> {
    if input.peek(LitStr) {
        return duration(&input.parse()?).map(RetryDelay::Fixed);
    }
    if input.peek(syn::token::Bracket) {
        return delay_list(input).map(RetryDelay::List);
    }
    if input.peek(kw::exponential) {
        input.parse::<kw::exponential>()?;
        let content;
        parenthesized!(content in input);
        let base = duration(&content.parse()?)?;
        return Ok(RetryDelay::Exponential(base));
    }
    Err(input.error(
        "expected a duration such as \"2s\", a list such as [\"1s\", \"10s\"], or exponential(\"1s\")",
    ))
}

fn delay_list(input: ParseStream) -> syn::Result<Vec<Duration>> {
    let content;
    let brackets = bracketed!(content in input);
    let items = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    let span = brackets.span.join();
    if items.is_empty() {
        return Err(Error::new(span, "retry_delay list is empty; give between 1 and 50 delays"));
    }
    if items.len() > MAX_RETRY_DELAYS {
        let msg = format!(
            "retry_delay list has {} entries; at most {MAX_RETRY_DELAYS} delays are allowed",
            items.len()
        );
        return Err(Error::new(span, msg));
    }
    items.iter().map(duration).collect()
}

/// Parses `sequential`, `concurrent` or the path of a runner factory fn.
pub(crate) fn task_runner(input: ParseStream) -> syn::Result<TaskRunner> {
    let path: Path = input.parse().map_err(|e| {
        let msg = "expected `sequential`, `concurrent` or the path of a fn returning a task runner";
        Error::new(e.span(), msg)
    })?;
    let runner = match path.get_ident() {
        Some(ident) if ident == "sequential" => TaskRunner::Sequential,
        Some(ident) if ident == "concurrent" => TaskRunner::Concurrent,
        _ => TaskRunner::Factory(path),
    };
    Ok(runner)
}

/// Parses a humantime duration literal, rejecting ones that do not fit in `u64` nanos.
pub(crate) fn duration(lit: &LitStr) -> syn::Result<Duration> {
    let text = lit.value();
    let value = humantime::parse_duration(&text).map_err(|e| {
        let msg = format!("`{text}` is not a duration: {e}; try \"2s\" or \"1m 30s\"");
        Error::new_spanned(lit, msg)
    })?;
    if u64::try_from(value.as_nanos()).is_err() {
        return Err(Error::new_spanned(lit, format!("`{text}` is too long for a duration")));
    }
    Ok(value)
}

/// Parses `"path::to::crate"` into a path.
pub(crate) fn crate_path(input: ParseStream) -> syn::Result<Path> {
    let lit: LitStr = input.parse()?;
    lit.parse::<Path>().map_err(|_| {
        Error::new_spanned(&lit, "`crate` must be a path, such as \"prefect\" or \"::prefect_core\"")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    fn parse<T>(f: fn(ParseStream) -> syn::Result<T>, src: &str) -> syn::Result<T> {
        f.parse_str(src)
    }

    fn err<T: std::fmt::Debug>(f: fn(ParseStream) -> syn::Result<T>, src: &str) -> String {
        parse(f, src).unwrap_err().to_string()
    }

    #[test]
    fn durations() {
        let fixed = parse(retry_delay, "\"1m 30s\"").unwrap();
        assert_eq!(fixed, RetryDelay::Fixed(Duration::from_secs(90)));
        let list = parse(retry_delay, "[\"1s\", \"10s\"]").unwrap();
        assert_eq!(list, RetryDelay::List(vec![Duration::from_secs(1), Duration::from_secs(10)]));
        let exp = parse(retry_delay, "exponential(\"2s\")").unwrap();
        assert_eq!(exp, RetryDelay::Exponential(Duration::from_secs(2)));
    }

    #[test]
    fn bad_durations() {
        assert!(err(retry_delay, "\"2 parsecs\"").starts_with("`2 parsecs` is not a duration: "));
        assert_eq!(err(timeout, "\"0s\""), "timeout must be greater than zero");
        assert!(err(retry_delay, "[]").contains("empty"));
        let many = vec!["\"1s\""; 51].join(", ");
        let msg = err(retry_delay, &format!("[{many}]"));
        assert!(msg.contains("has 51 entries; at most 50"), "{msg}");
        assert!(err(retry_delay, "2").starts_with("expected a duration"));
        let positive = |input: ParseStream| positive_duration(input, "cache_expiration");
        assert_eq!(err(positive, "\"0d\""), "cache_expiration must be greater than zero");
        assert_eq!(parse(positive, "\"1d\"").unwrap().value, Duration::from_secs(86_400));
        assert_eq!(
            err(positive, "3600"),
            "cache_expiration must be a duration string, such as \"30s\" or \"1d\""
        );
    }

    #[test]
    fn booleans() {
        let flag = |input: ParseStream| boolean(input, "persist_result");
        assert!(parse(flag, "true").unwrap().value);
        assert!(!parse(flag, "false").unwrap().value);
        assert_eq!(err(flag, "\"true\""), "persist_result must be `true` or `false`");
        assert_eq!(err(flag, "1"), "persist_result must be `true` or `false`");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse(retries, "3").unwrap().value, 3);
        assert_eq!(err(retries, "-1"), "retries must be a non-negative integer");
        assert_eq!(err(retries, "1.5"), "retries must be a non-negative integer");
        assert_eq!(parse(jitter, "0.5").unwrap().value, 0.5);
        assert_eq!(parse(jitter, "2").unwrap().value, 2.0);
        assert!(err(jitter, "-0.5").starts_with("retry_jitter must be a non-negative number"));
    }

    #[test]
    fn lists() {
        assert_eq!(parse(string_list, "[\"a\", \"b\",]").unwrap().len(), 2);
        assert!(err(string_list, "\"a\"").starts_with("expected a list of strings"));
        assert_eq!(parse(path_list, "a::b").unwrap().len(), 1);
        assert_eq!(parse(path_list, "[a, b::c]").unwrap().len(), 2);
        assert!(parse(crate_path, "\"::prefect_core\"").is_ok());
        assert!(err(crate_path, "\"1x\"").starts_with("`crate` must be a path"));
    }

    #[test]
    fn task_runners() {
        assert!(matches!(parse(task_runner, "sequential").unwrap(), TaskRunner::Sequential));
        assert!(matches!(parse(task_runner, "concurrent").unwrap(), TaskRunner::Concurrent));
        assert!(matches!(parse(task_runner, "sequential::make").unwrap(), TaskRunner::Factory(_)));
        assert!(matches!(parse(task_runner, "my_runner").unwrap(), TaskRunner::Factory(_)));
        assert!(err(task_runner, "\"x\"").starts_with("expected `sequential`"));
    }
}
