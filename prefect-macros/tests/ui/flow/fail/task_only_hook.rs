use prefect::prelude::*;

fn undo(_: &HookContext) {}

#[flow(on_rollback = [undo])]
async fn etl() {}

fn main() {}
