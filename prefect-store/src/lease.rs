//! Run ownership: which process records a run, and whether it is still
//! alive.
//!
//! Each recorder takes a [`Lease`] when it starts and renews it while it
//! runs. Every run it records carries the lease. A run that has not ended
//! and whose lease is gone is *stale* and gets marked Crashed by
//! [`crate::Store::mark_crashed_stale_runs`]:
//!
//! - on the same machine (same host name and boot), the owning process is
//!   checked directly (Linux `/proc`, guarded against reused pids by the
//!   process start time): a live process keeps its runs even if its lease
//!   lapsed (a laptop that slept), a dead one loses them at once;
//! - elsewhere, the lease's expiry decides;
//! - a lease released by a recorder that closed cleanly is gone at once.

use chrono::{DateTime, Utc};

/// A lease id, unique within one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct LeaseId(pub i64);

/// A lease held by a recorder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    /// The lease's id.
    pub id: LeaseId,
    /// Who holds it.
    pub owner: LeaseOwner,
    /// When it lapses unless renewed.
    pub expires: DateTime<Utc>,
}

/// The process holding a lease.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseOwner {
    /// The process id.
    pub pid: u32,
    /// The machine's host name.
    pub host: String,
    /// The machine's boot id, where the OS has one (Linux).
    pub boot_id: Option<String>,
    /// The process start time in clock ticks since boot (Linux), to tell a
    /// reused pid from the original process.
    pub pid_start: Option<u64>,
}

impl LeaseOwner {
    /// The calling process.
    pub fn current() -> Self {
        let pid = std::process::id();
        LeaseOwner {
            pid,
            host: host_name(),
            boot_id: boot_id(),
            pid_start: proc_stat(pid).map(|stat| stat.start),
        }
    }

    /// Whether the process holding a lease that expires at `expires` still
    /// counts as alive at `now`, judged from the machine `here`.
    pub fn is_alive(&self, expires: DateTime<Utc>, now: DateTime<Utc>, here: &LeaseOwner) -> bool {
        let same_machine = self.host == here.host && self.boot_id.is_some() && self.boot_id == here.boot_id;
        if same_machine && let Some(alive) = self.process_alive() {
            return alive;
        }
        expires > now
    }

    /// Whether the process is known to be gone, judged from the machine
    /// `here` (only a process on the same machine can be checked).
    pub fn is_dead_here(&self, here: &LeaseOwner) -> bool {
        let same_machine = self.host == here.host && self.boot_id.is_some() && self.boot_id == here.boot_id;
        same_machine && self.process_alive() == Some(false)
    }

    /// `Some(alive)` when the OS can tell, `None` otherwise.
    fn process_alive(&self) -> Option<bool> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(false),
            Err(_) => None,
            Ok(text) => {
                let stat = ProcStat::parse(&text)?;
                let zombie = matches!(stat.state, 'Z' | 'X' | 'x');
                let reused = self.pid_start.is_some_and(|start| start != stat.start);
                Some(!zombie && !reused)
            }
        }
    }
}

struct ProcStat {
    state: char,
    start: u64,
}

impl ProcStat {
    /// Parses `/proc/<pid>/stat`: the command name is in parentheses and may
    /// hold spaces, so fields are counted from the last `)`.
    fn parse(text: &str) -> Option<ProcStat> {
        let rest = &text[text.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace();
        let state = fields.next()?.chars().next()?;
        // Field 22 (starttime) is the 20th after the name.
        let start = fields.nth(18)?.parse().ok()?;
        Some(ProcStat { state, start })
    }
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ProcStat::parse(&text)
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| read_trimmed("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn boot_id() -> Option<String> {
    read_trimmed("/proc/sys/kernel/random/boot_id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn parses_stat_with_spaces_in_name() {
        let text = "42 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99887 20 21";
        let stat = ProcStat::parse(text).unwrap();
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.start, 99887);
    }

    #[test]
    fn this_process_is_alive_and_a_missing_one_is_not() {
        let here = LeaseOwner::current();
        let now = Utc::now();
        let past = now - TimeDelta::seconds(10);
        assert!(here.is_alive(now + TimeDelta::seconds(10), now, &here));
        let dead = LeaseOwner { pid: 0x7fff_fff0, ..here.clone() };
        assert!(!dead.is_alive(past, now, &here));
        let elsewhere = LeaseOwner { host: "elsewhere".into(), ..here.clone() };
        assert!(!elsewhere.is_alive(past, now, &here));
        assert!(elsewhere.is_alive(now + TimeDelta::seconds(1), now, &here));
    }
}
