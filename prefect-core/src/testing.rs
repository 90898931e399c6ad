//! Test support: run code against an isolated in-memory recorder and query
//! what it recorded, with no database and no server.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use prefect_core::{testing, Task, run_task};
//!
//! let harness = testing::harness();
//! harness.run(async {
//!     run_task(&Task::new("double"), || async { Ok::<_, std::io::Error>(21 * 2) }).await.unwrap();
//! }).await;
//! let runs = harness.task_runs_of("double");
//! assert_eq!(runs.len(), 1);
//! assert_eq!(runs[0].state().unwrap().name, "Completed");
//! # }
//! ```

use std::future::IntoFuture;
use std::ops::Deref;
use std::sync::Arc;

use crate::context::Scope;
use crate::record::{MemoryRecorder, Recorder};

/// Runs `fut` with `recorder` receiving the events of every run inside it,
/// instead of the global recorder.
pub async fn with_recorder<F: IntoFuture>(recorder: Arc<dyn Recorder>, fut: F) -> F::Output {
    Scope::current_with(recorder).enter(fut.into_future()).await
}

/// An isolated in-memory recorder for one test.
#[derive(Debug, Clone, Default)]
pub struct Harness {
    recorder: Arc<MemoryRecorder>,
}

/// A fresh [`Harness`]. Making one also sends prefect's console output
/// through the test harness's output capture (`eprint!`), so a passing
/// test prints nothing and a failing one shows its runs' lines.
pub fn harness() -> Harness {
    crate::logging::progress::capture_for_tests();
    Harness::default()
}

impl Harness {
    /// Runs `fut` with this harness's recorder.
    pub async fn run<F: IntoFuture>(&self, fut: F) -> F::Output {
        with_recorder(self.recorder.clone(), fut).await
    }

    /// Runs the sync `f` with this harness's recorder (for code that calls
    /// `.blocking()` outside any runtime).
    pub fn run_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        Scope::current_with(self.recorder.clone()).enter_sync(f)
    }

    /// The recorder, shared.
    pub fn recorder(&self) -> Arc<MemoryRecorder> {
        self.recorder.clone()
    }
}

impl Deref for Harness {
    type Target = MemoryRecorder;

    fn deref(&self) -> &MemoryRecorder {
        &self.recorder
    }
}

/// Forgets the cached-task records this process keeps in memory, as a
/// new process starts: the next lookups read result storage. A process
/// serves the records it wrote or read from memory, so a test that alters
/// a record file behind the engine's back calls this first.
pub fn forget_records_in_memory() {
    crate::engine::record_memo::clear();
}
