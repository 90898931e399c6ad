//! The `prefect` command-line tool (in progress).

fn main() {}
