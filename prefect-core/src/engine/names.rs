//! Default run names: `fetch-3f2` for task runs, `brave-otter` for flow runs.

/// `"<task name>-<3 hex digits>"`, as Prefect names task runs.
pub(crate) fn task_run_name(task_name: &str) -> String {
    // Built by hand: every task run pays for its name, and the formatting
    // machinery cost more than the allocation (3.5% of a trivial task).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let suffix = fastrand::u16(..0x1000);
    let mut name = String::with_capacity(task_name.len() + 4);
    name.push_str(task_name);
    name.push('-');
    for shift in [8, 4, 0] {
        name.push(char::from(HEX[usize::from((suffix >> shift) & 0xf)]));
    }
    name
}

/// A random two-word slug.
pub(crate) fn flow_run_name() -> String {
    prefect_model::run_names::flow_run_name()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let name = super::task_run_name("fetch");
        assert!(name.starts_with("fetch-") && name.len() == "fetch-".len() + 3, "{name}");
        assert!(name[6..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{name}");
        assert_eq!(super::flow_run_name().split('-').count(), 2);
    }
}
