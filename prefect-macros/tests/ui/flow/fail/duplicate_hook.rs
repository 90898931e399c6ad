use prefect::prelude::*;

fn a(_: &HookContext) {}

#[flow(on_crashed = [a], on_cancellation = a, on_crashed = a)]
async fn etl() {}

fn main() {}
