//! The `#[task]` and `#[flow]` attributes of prefect-rs.
//!
//! Use them through the facade (`use prefect::prelude::*;`), not directly: the
//! expansion calls `::prefect::__private`, a hidden module of glue into the run engine.
//!
//! Each attribute turns an `async fn` (or a plain `fn`) into a function that returns a
//! call value (`TaskCall<T>` / `FlowCall<T>`), plus a same-named struct that carries the
//! descriptor (`fetch::task()`, `etl::flow()`), the undecorated body
//! (`fetch::call_direct(..)`) and, for tasks, `fetch::map(..)`. A task's arguments may be
//! values or upstream `TaskFuture`s.
//!
//! ```ignore
//! use prefect::prelude::*;
//!
//! #[task(retries = 3, retry_delay = "2s", tags = ["api"])]
//! async fn fetch(url: String) -> Result<String, FetchError> { /* ... */ }
//!
//! #[flow(name = "etl", flow_run_name = "etl-{day}")]
//! async fn etl(day: String, urls: Vec<String>) -> usize { /* ... */ }
//! ```
//!
//! Options are checked at compile time: unknown or duplicate options, malformed
//! durations, negative retries, unknown run-name placeholders and unsupported
//! signatures (references, `self`, generics, reserved parameter names) are spanned
//! errors on the offending token, and the original function is still emitted so
//! IDEs keep working.
//!
//! The crate is split in stages: `args` (with `value`) parses the options, `check`
//! validates the signature and option combinations, `expand` (with `descriptor`, `task`
//! and `flow`) generates.

mod args;
mod check;
mod descriptor;
mod expand;
mod flow;
mod signature;
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
/// `on_running`, `on_completion`, `on_failure` (`[path, ..]`), `crate = "path"`.
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Makes a fn a prefect flow: each call is a recorded flow run; tasks called inside
/// it become its task runs, flows called inside it its subflows.
///
/// Options: as for `#[task]`, with `flow_run_name = "etl-{date}"` instead of
/// `task_run_name`, plus `task_runner = sequential | concurrent | path::to_factory` and
/// the hooks `on_cancellation` and `on_crashed`. Flow names must not contain `/`, `%`,
/// `&`, `>` or `<`.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    flow::expand(args.into(), item.into()).into()
}
