//! The expansion uses absolute paths only, so user items that shadow prelude and
//! std names do not break it.
#![allow(dead_code, non_camel_case_types)]

mod core {}
mod std {}
mod serde_json {}
mod __private {}

struct Result;
struct Option;
struct Some;
struct None;
struct String;
struct Vec;
struct Box;
struct Send;
struct Clone;
struct Duration;
struct Task;
struct TaskCall;
struct LazyLock;

// Never called: the generated code must use the std macros by path.
#[allow(unused_macros)]
macro_rules! format {
    () => {};
}
#[allow(unused_macros)]
macro_rules! vec {
    () => {};
}

type Output = ::std::result::Result<u32, ::std::io::Error>;

#[prefect::task(retries = 2, retry_delay = ["1s"], timeout = "1s", task_run_name = "t-{n}")]
async fn task_with_everything(n: u32, s: ::std::string::String) -> Output {
    ::std::result::Result::Ok(n + s.len() as u32)
}

#[prefect::flow(retries = 1, flow_run_name = "f-{n}")]
fn flow_with_everything(n: u32) -> ::std::vec::Vec<u32> {
    ::std::vec![n]
}

fn main() {
    let _ = task_with_everything(1, ::std::string::String::new());
    let _ = flow_with_everything(1);
}
