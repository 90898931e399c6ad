//! Parsing `#[task(...)]` / `#[flow(...)]` options into a typed [`Args`].
//!
//! Parsing is strict and keyword-driven: an unknown option names the valid ones (with a
//! hint for near misses), a repeated option is an error on its second use, and values
//! are checked by [`crate::value`]. Errors are collected so that one compile shows them all.

use std::time::Duration;

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::{Error, Ident, LitStr, Path, Token};

use crate::errors::Errors;
use crate::results::{ResultArgs, ResultKey};
use crate::value::{self, RetryDelay, Spanned, TaskRunner};

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[task]`
    Task,
    /// `#[flow]`
    Flow,
}

impl Kind {
    /// The attribute's name, as written by users.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Flow => "flow",
        }
    }

    /// The options this attribute accepts, in the order the error message lists them.
    fn keys(self) -> &'static [Key] {
        match self {
            Kind::Task => &[
                Key::Name,
                Key::Description,
                Key::Version,
                Key::Tags,
                Key::Retries,
                Key::RetryDelay,
                Key::RetryJitter,
                Key::RetryCondition,
                Key::Timeout,
                Key::TaskRunName,
                Key::LogPrints,
                Key::SkipOnUpstreamSkip,
                Key::Result(ResultKey::PersistResult),
                Key::Result(ResultKey::ResultStorage),
                Key::Result(ResultKey::ResultSerializer),
                Key::Result(ResultKey::ResultStorageKey),
                Key::Result(ResultKey::CacheKey),
                Key::Result(ResultKey::CacheExpiration),
                Key::Result(ResultKey::RefreshCache),
                Key::Result(ResultKey::Target),
                Key::Hook(Hook::Running),
                Key::Hook(Hook::Completion),
                Key::Hook(Hook::Failure),
                Key::Hook(Hook::Commit),
                Key::Hook(Hook::Rollback),
                Key::Crate,
            ],
            Kind::Flow => &[
                Key::Name,
                Key::Description,
                Key::Version,
                Key::Tags,
                Key::Retries,
                Key::RetryDelay,
                Key::RetryJitter,
                Key::RetryCondition,
                Key::Timeout,
                Key::FlowRunName,
                Key::TaskRunner,
                Key::LogPrints,
                Key::Parameters,
                Key::Result(ResultKey::PersistResult),
                Key::Result(ResultKey::ResultStorage),
                Key::Result(ResultKey::ResultSerializer),
                Key::Result(ResultKey::ResultStorageKey),
                Key::Hook(Hook::Running),
                Key::Hook(Hook::Completion),
                Key::Hook(Hook::Failure),
                Key::Hook(Hook::Cancellation),
                Key::Hook(Hook::Crashed),
                Key::Crate,
            ],
        }
    }

    fn option_names(self) -> impl Iterator<Item = &'static str> {
        self.keys().iter().map(|key| key.name())
    }
}

/// A hook list option; the builder method has the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Running,
    Completion,
    Failure,
    Cancellation,
    Crashed,
    Commit,
    Rollback,
}

impl Hook {
    /// The option and builder-method name.
    pub(crate) fn method(self) -> &'static str {
        match self {
            Hook::Running => "on_running",
            Hook::Completion => "on_completion",
            Hook::Failure => "on_failure",
            Hook::Cancellation => "on_cancellation",
            Hook::Crashed => "on_crashed",
            Hook::Commit => "on_commit",
            Hook::Rollback => "on_rollback",
        }
    }
}

/// One option name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Description,
    Version,
    Tags,
    Retries,
    RetryDelay,
    RetryJitter,
    RetryCondition,
    Timeout,
    TaskRunName,
    FlowRunName,
    TaskRunner,
    LogPrints,
    SkipOnUpstreamSkip,
    Parameters,
    Hook(Hook),
    Result(ResultKey),
    Crate,
}

/// Declares one `custom_keyword!` per option and the lookahead that maps it to a [`Key`].
macro_rules! keys {
    ($($kw:ident => $key:expr,)*) => {
        mod kw {
            $(syn::custom_keyword!($kw);)*
        }

        fn peek_key(input: ParseStream) -> Option<Key> {
            $(if input.peek(kw::$kw) {
                return Some($key);
            })*
            input.peek(Token![crate]).then_some(Key::Crate)
        }

        impl Key {
            fn name(self) -> &'static str {
                $(if self == $key {
                    return stringify!($kw);
                })*
                "crate"
            }
        }
    };
}

keys! {
    name => Key::Name,
    description => Key::Description,
    version => Key::Version,
    tags => Key::Tags,
    retries => Key::Retries,
    retry_delay => Key::RetryDelay,
    retry_jitter => Key::RetryJitter,
    retry_condition => Key::RetryCondition,
    timeout => Key::Timeout,
    task_run_name => Key::TaskRunName,
    flow_run_name => Key::FlowRunName,
    task_runner => Key::TaskRunner,
    log_prints => Key::LogPrints,
    skip_on_upstream_skip => Key::SkipOnUpstreamSkip,
    parameters => Key::Parameters,
    on_running => Key::Hook(Hook::Running),
    on_completion => Key::Hook(Hook::Completion),
    on_failure => Key::Hook(Hook::Failure),
    on_cancellation => Key::Hook(Hook::Cancellation),
    on_crashed => Key::Hook(Hook::Crashed),
    on_commit => Key::Hook(Hook::Commit),
    on_rollback => Key::Hook(Hook::Rollback),
    persist_result => Key::Result(ResultKey::PersistResult),
    result_storage => Key::Result(ResultKey::ResultStorage),
    result_serializer => Key::Result(ResultKey::ResultSerializer),
    result_storage_key => Key::Result(ResultKey::ResultStorageKey),
    cache_key => Key::Result(ResultKey::CacheKey),
    cache_expiration => Key::Result(ResultKey::CacheExpiration),
    refresh_cache => Key::Result(ResultKey::RefreshCache),
    target => Key::Result(ResultKey::Target),
}

/// The checked options of one attribute. `None` means "not given".
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub(crate) krate: Option<Path>,
    pub(crate) name: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) version: Option<LitStr>,
    pub(crate) tags: Option<Vec<LitStr>>,
    pub(crate) retries: Option<Spanned<u32>>,
    pub(crate) retry_delay: Option<RetryDelay>,
    pub(crate) retry_jitter: Option<Spanned<f64>>,
    pub(crate) retry_condition: Option<Path>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) hooks: Vec<(Hook, Vec<Path>)>,
    /// Flows only.
    pub(crate) task_runner: Option<TaskRunner>,
    /// `task_run_name` or `flow_run_name`, whichever fits the kind.
    pub(crate) run_name: Option<LitStr>,
    /// `log_prints = true`: `prefect::println!` lines become run logs.
    pub(crate) log_prints: Option<Spanned<bool>>,
    /// Tasks only: `skip_on_upstream_skip = false` runs even when an upstream skipped.
    pub(crate) skip_on_upstream_skip: Option<Spanned<bool>>,
    /// Persistence and caching (the cache options are for tasks only).
    pub(crate) results: ResultArgs,
    /// Flows only: `parameters = EtlParams` generates a serde struct of the
    /// flow's parameters under that name.
    pub(crate) parameters: Option<Ident>,
}

/// Parses the attribute's tokens for `kind`, reporting every bad option at once.
pub(crate) fn parse(kind: Kind, tokens: TokenStream) -> syn::Result<Args> {
    (|input: ParseStream| parse_all(kind, input)).parse2(tokens)
}

fn parse_all(kind: Kind, input: ParseStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let mut seen = Vec::new();
    let mut errors = Errors::default();
    while !input.is_empty() {
        let one = parse_one(kind, &mut args, &mut seen, input).and_then(|()| end_of_option(input));
        if let Err(e) = one {
            errors.push(e);
            skip_past_comma(input)?;
        }
    }
    errors.finish()?;
    Ok(args)
}

fn parse_one(kind: Kind, args: &mut Args, seen: &mut Vec<Key>, input: ParseStream) -> syn::Result<()> {
    let key = peek_key(input).filter(|key| kind.keys().contains(key));
    let ident = Ident::parse_any(input).map_err(|e| Error::new(e.span(), "expected an option name"))?;
    let Some(key) = key else {
        return Err(unknown_option(kind, &ident));
    };
    if seen.contains(&key) {
        return Err(Error::new(ident.span(), format!("duplicate option `{}`", key.name())));
    }
    seen.push(key);
    input.parse::<Token![=]>()?;
    parse_value(args, key, ident, input)
}

/// Stores the value of a known, first-seen option named by `ident`.
fn parse_value(args: &mut Args, key: Key, ident: Ident, input: ParseStream) -> syn::Result<()> {
    match key {
        Key::Name => args.name = Some(value::string(input)?),
        Key::Description => args.description = Some(value::string(input)?),
        Key::Version => args.version = Some(value::string(input)?),
        Key::Tags => args.tags = Some(value::string_list(input)?),
        Key::Retries => args.retries = Some(value::retries(input)?),
        Key::RetryDelay => args.retry_delay = Some(value::retry_delay(input)?),
        Key::RetryJitter => args.retry_jitter = Some(value::jitter(input)?),
        Key::RetryCondition => args.retry_condition = Some(input.parse()?),
        Key::Timeout => args.timeout = Some(value::timeout(input)?),
        Key::TaskRunName | Key::FlowRunName => args.run_name = Some(value::string(input)?),
        Key::TaskRunner => args.task_runner = Some(value::task_runner(input)?),
        Key::LogPrints => args.log_prints = Some(value::boolean(input, "log_prints")?),
        Key::SkipOnUpstreamSkip => {
            args.skip_on_upstream_skip = Some(value::boolean(input, "skip_on_upstream_skip")?);
        }
        Key::Parameters => args.parameters = Some(input.parse()?),
        Key::Hook(hook) => args.hooks.push((hook, value::path_list(input)?)),
        Key::Result(key) => args.results.parse(key, ident, input)?,
        Key::Crate => args.krate = Some(value::crate_path(input)?),
    }
    Ok(())
}

fn end_of_option(input: ParseStream) -> syn::Result<()> {
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// Error recovery: drops the rest of a bad option so the next one can be checked.
fn skip_past_comma(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    input.parse::<Option<Token![,]>>()?;
    Ok(())
}

fn unknown_option(kind: Kind, key: &Ident) -> Error {
    let name = key.unraw().to_string();
    let valid = kind.option_names().collect::<Vec<_>>().join(", ");
    let hint = hint(kind, &name).map(|h| format!(" ({h})")).unwrap_or_default();
    Error::new(key.span(), format!("unknown option `{name}`{hint}; valid options are: {valid}"))
}

/// A suggestion for a renamed, misplaced or misspelled option.
fn hint(kind: Kind, name: &str) -> Option<String> {
    let renamed = match name {
        "retry_delay_seconds" => Some("use `retry_delay = \"10s\"`: durations are strings"),
        "timeout_seconds" => Some("use `timeout = \"30s\"`: durations are strings"),
        "max_retries" => Some("use `retries`"),
        "retry_condition_fn" => Some("use `retry_condition`"),
        "run_name" if kind == Kind::Task => Some("use `task_run_name`"),
        "run_name" | "task_run_name" if kind == Kind::Flow => Some("use `flow_run_name` on flows"),
        "flow_run_name" if kind == Kind::Task => Some("use `task_run_name` on tasks"),
        "on_cancellation" | "on_crashed" if kind == Kind::Task => Some("only flows take this hook"),
        "on_commit" | "on_rollback" if kind == Kind::Flow => {
            Some("only tasks take this hook: a transaction commits or rolls back task runs")
        }
        "task_runner" if kind == Kind::Task => Some("only flows take a task runner"),
        "skip_on_upstream_skip" if kind == Kind::Flow => Some("only tasks have upstream runs"),
        "cache_key" | "cache_key_fn" | "cache_policy" | "cache_expiration" | "refresh_cache" | "target"
            if kind == Kind::Flow =>
        {
            Some("only tasks take this option: a flow's value is persisted, never served from a cache")
        }
        "cache_key_fn" => Some("use `cache_key = my_fn`"),
        "cache_policy" => Some("use `cache_key = input_hash`, or another policy such as `inputs + run_id`"),
        _ => None,
    };
    renamed.map(str::to_owned).or_else(|| closest(kind, name).map(|o| format!("did you mean `{o}`?")))
}

fn closest(kind: Kind, name: &str) -> Option<&'static str> {
    prefect_model::text::closest(name, kind.option_names(), 2)
}

#[cfg(test)]
mod tests;
