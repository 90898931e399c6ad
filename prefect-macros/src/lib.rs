//! The `#[task]` and `#[flow]` attributes of prefect-rs.
//!
//! Use them through the facade (`use prefect::prelude::*;`), not directly: the
//! expansion calls `::prefect::__private_v1`, a hidden, versioned module of glue into the
//! run engine.
//!
//! Each attribute turns an `async fn` (or a plain `fn`) into a function that returns a
//! call value (`TaskCall<T>` / `FlowCall<T>`), plus a same-named struct that carries the
//! descriptor (`fetch::task()`, `etl::flow()`), the undecorated body
//! (`fetch::call_direct(..)`) and, for tasks, `fetch::map(..)`. A task's arguments may be
//! values or upstream `TaskFuture`s.
//!
//! ```no_run
//! use prefect::prelude::*;
//!
//! #[task(retries = 3, retry_delay = "2s", tags = ["api"])]
//! async fn fetch(url: String) -> Result<String, std::io::Error> {
//!     Ok(format!("body of {url}"))
//! }
//!
//! #[flow(name = "etl", flow_run_name = "etl-{day}")]
//! async fn etl(day: String, urls: Vec<String>) -> Result<usize, prefect::Error> {
//!     let mut total = 0;
//!     for url in urls {
//!         total += fetch(url).await?.len();
//!     }
//!     Ok(total)
//! }
//! # fn main() {}
//! ```
//!
//! Options are checked at compile time: unknown or duplicate options, malformed
//! durations, negative retries, unknown run-name placeholders and unsupported
//! signatures (references, `self`, generics, reserved parameter names) are spanned
//! errors on the offending token, and the original function is still emitted so
//! IDEs keep working. So are the result options: serializer names and storage-key
//! templates are checked with the engine's own parsers, and an option that stores the
//! return value (or hashes the arguments) makes a non-serde type a spanned error.
//!
//! The crate is split in stages: `args` (with `value`, `results`, `cache` and
//! `storage_key`) parses the options, `check` validates the signature and option
//! combinations, `expand` (with `descriptor`, `source`, `task` and `flow`) generates.
//! The leaf modules `spec` (the checked attribute and fn) and `errors` (error
//! collection) are shared by the stages and depend on none of them.

mod args;
mod cache;
mod check;
mod descriptor;
mod errors;
mod expand;
mod flow;
mod results;
mod schedule_text;
mod signature;
mod source;
mod spec;
mod storage_key;
mod task;
mod template;
mod value;

use proc_macro::TokenStream;

/// Makes a fn a prefect task: each call is a recorded task run with retries,
/// timeout and hooks taken from the options.
///
/// Options: `name`, `description`, `version`, `tags = [..]`, `retries`,
/// `retry_delay = "2s" | ["1s", "10s"] | exponential("1s")`, `retry_jitter`,
/// `retry_condition = path`, `timeout = "30s"`, `task_run_name = "fetch-{url}"`,
/// `on_running`, `on_completion`, `on_failure`, `on_commit`, `on_rollback` (`[path, ..]`;
/// the last two run when the run's transaction commits or rolls back), `crate = "path"`, and
/// the result and cache options:
///
/// - `persist_result = true | false`: store the value (default: on when any option
///   below is given, else the setting `results.persist_by_default`).
/// - `result_storage = "dir" | path::to_fn`: local files under `dir`, or the storage a
///   `fn() -> impl ResultStorage` returns.
/// - `result_serializer = "json" | "postcard" | "zstd+json" | "zstd+postcard"` (also
///   Prefect's `"binary"`, `"compressed/json"`, `"compressed/binary"`; zstd needs the
///   `zstd` feature at run time).
/// - `result_storage_key = "{flow_name}/{task_name}/{parameters.url}.json"`: where the
///   record is stored; `{parameters.x}` must name a parameter.
/// - `cache_key = input_hash | inputs | task_source | flow_parameters | run_id | default
///   | none`, terms joined with `+`; `input_hash` (inputs and source) and `inputs` take
///   `(exclude = ["arg", ..])`. A path written alone is a custom key fn
///   `fn(&TaskRunContext, &CacheInputs) -> Option<String>`.
/// - `cache_expiration = "1d"`, `refresh_cache = true | false`.
/// - `target = "out/{parameters.day}.json"`: Prefect 1's file-existence caching.
///
/// Each option that stores the value needs a return type that is `Serialize +
/// DeserializeOwned`, and a `cache_key` that hashes the inputs needs every argument it
/// keeps to be `Serialize`; both are compile-time errors. `persist_result = false`
/// cannot be combined with the cache options. Every task records the hash of its
/// tokens (signature and body, without comments or formatting) as its source hash, which
/// `task_source` keys use.
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Makes a fn a prefect flow: each call is a recorded flow run; tasks called inside
/// it become its task runs, flows called inside it its subflows.
///
/// Options: as for `#[task]`, with `flow_run_name = "etl-{date}"` instead of
/// `task_run_name`, plus `task_runner = sequential | concurrent | path::to_factory`,
/// `parameters = Name` (a `Serialize + DeserializeOwned` struct `Name` of the flow's
/// parameters, by name, for its deployments: `my_flow::deployment("daily").parameters(Name
/// { .. })`; a parameter type that is not serde is a compile error at it) and the hooks
/// `on_cancellation` and `on_crashed`. Flow names must not contain `/`, `%`,
/// `&`, `>` or `<`.
///
/// Of the result options, flows take `persist_result`, `result_storage`,
/// `result_serializer` and `result_storage_key` (whose template cannot use the task-only
/// placeholders `{task_name}`, `{task_run.id}`, `{map_index}` or `{task_run_count}`);
/// their tasks inherit the storage, serializer and `persist_result`. The cache options
/// are for tasks only.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    flow::expand(args.into(), item.into()).into()
}

/// A cron pattern checked at compile time: `cron!("0 6 * * *")` is the
/// text itself; a pattern that does not read (not five fields, a value out
/// of range) is a compile error pointing at it. For
/// `my_flow::deployment("daily").cron(cron!("0 6 * * *"), timezone!("Europe/Berlin"))`.
#[proc_macro]
pub fn cron(input: TokenStream) -> TokenStream {
    schedule_text::cron(input.into()).into()
}

/// An IANA time zone name checked at compile time: `timezone!("Europe/Berlin")`.
#[proc_macro]
pub fn timezone(input: TokenStream) -> TokenStream {
    schedule_text::timezone(input.into()).into()
}

/// An RFC 5545 recurrence rule checked at compile time: `rrule!("FREQ=WEEKLY;BYDAY=MO")`.
#[proc_macro]
pub fn rrule(input: TokenStream) -> TokenStream {
    schedule_text::rrule(input.into()).into()
}
