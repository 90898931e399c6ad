//! Visibility, docs, `cfg` and lint attributes carry over; `crate = ".."` reaches the
//! runtime through another path; argument names may be `mut` or raw.
#![deny(missing_docs, missing_debug_implementations)]

//! A crate with tasks in a module.

mod reexport {
    pub use prefect as runtime;
}

/// Tasks.
pub mod tasks {
    /// Adds one.
    #[prefect::task(crate = "crate::reexport::runtime")]
    pub async fn add_one(mut n: u32, r#type: String) -> u32 {
        n += 1;
        n + r#type.len() as u32
    }

    /// Only on unix.
    #[cfg(unix)]
    #[prefect::task(name = "unix-only")]
    pub(crate) fn unix_only() {}

    #[cfg(any())]
    #[prefect::task]
    pub fn never_compiled() -> ThisTypeDoesNotExist {}

    /// Expectations are checked on the body.
    #[prefect::task]
    #[expect(unused_variables)]
    pub(crate) fn quiet(unused: u32) {
        let x = 1;
    }
}

fn main() {
    let _call: prefect::TaskCall<u32> = tasks::add_one(1, String::new());
    let descriptor: &'static prefect::Task = tasks::add_one::task();
    assert_eq!(descriptor.options().name(), "add_one");
    assert_eq!(format!("{:?}", tasks::add_one {}), "add_one");
    #[cfg(unix)]
    assert_eq!(tasks::unix_only::task().options().name(), "unix-only");
    tasks::quiet::call_direct(1);
    let _ = tasks::quiet(1);
}
