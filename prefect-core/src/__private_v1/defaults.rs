//! What a program that set nothing up gets: the defaults the `prefect`
//! facade declares (console output, the run database), run once when the
//! program's first `#[task]`/`#[flow]` descriptor is built.

use std::sync::Once;

/// The defaults of a program: plain function pointers, so a facade
/// declares them as a `const` and holds no logic of its own.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Installs console output (and run-log capture) unless the program
    /// set a `tracing` subscriber.
    pub console: fn(),
    /// Makes the run database the process's default backend.
    pub backend: fn() -> bool,
}

impl Defaults {
    /// No defaults: runs are recorded only where a recorder is set, and
    /// logs go wherever the program's subscriber sends them.
    pub const NONE: Defaults = Defaults { console: || {}, backend: || false };
}

/// prefect-core alone has no defaults; the `prefect` facade's glue module
/// replaces this with its own.
pub const DEFAULTS: Defaults = Defaults::NONE;

/// Runs `defaults` once per process (later calls do nothing), and closes
/// the process's recorder when the program's main thread ends (see
/// [`crate::record::close`]).
pub fn install_defaults(defaults: &Defaults) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        (defaults.console)();
        (defaults.backend)();
        crate::record::close_at_exit();
    });
}
