//! Glue for the code `#[task]` and `#[flow]` generate: prefect-core's,
//! except that [`ensure_default`] registers the run database as the
//! default recorder. Not a stable API.

pub use prefect_core::__private::*;

/// Called first by every generated call: registers the run database as
/// the default recorder (one atomic check after the first call).
pub fn ensure_default() {
    crate::recording::ensure_default();
}
