//! What the tests that start workers in child processes share: the flows
//! they run, and the children's handling.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};

use prefect::prelude::*;

/// Appends its run id to the file `out`: how the parent counts executions.
#[flow]
pub(crate) async fn mark(out: String) -> Result<(), std::io::Error> {
    use std::io::Write;
    let id = prefect::context::flow_run().map(|f| f.id().to_string()).unwrap_or_default();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(out)?;
    // One write of the whole line: appends from several processes do not interleave.
    file.write_all(format!("{id}\n").as_bytes())
}

/// Hangs on its first run (until killed or cancelled), completes on the next.
#[flow(retries = 1)]
pub(crate) async fn fragile() -> u32 {
    let run = prefect::context::flow_run().map(|f| f.run_count()).unwrap_or(0);
    if run == 1 {
        println!("HANGING");
        std::future::pending::<()>().await;
    }
    run
}

/// A child process killed when the test ends, passed or not, so that a
/// failing test leaves no worker running; otherwise used as the `Child`.
pub(crate) struct Running(Option<Child>);

impl Running {
    /// Its output, once it exits on its own.
    pub(crate) fn output(mut self) -> std::process::Output {
        self.0.take().expect("held until taken").wait_with_output().unwrap()
    }

    /// Kills it (if it still runs) and waits for it.
    pub(crate) fn stop(&mut self) {
        if let Some(child) = self.0.as_mut()
            && let Ok(None) = child.try_wait()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("held until taken")
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("held until taken")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `cmd`, to be killed if the test ends first.
pub(crate) fn start(cmd: &mut Command) -> Running {
    Running(Some(cmd.spawn().unwrap()))
}

/// Reads the child's output until a line holds `line`, then keeps reading
/// it in the background (so it never blocks on a full pipe).
pub(crate) fn wait_for_line(child: &mut Child, line: &str) {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(line) => break,
            Some(_) => {}
            None => panic!("the child ended before printing {line}"),
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
}
