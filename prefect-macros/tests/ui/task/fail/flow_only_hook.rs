use prefect::prelude::*;

fn on_crash(_: &HookContext) {}

#[task(on_crashed = [on_crash])]
async fn fetch(url: String) -> String {
    url
}

#[task(flow_run_name = "x")]
async fn named() {}

#[task(task_runner = sequential)]
async fn runner() {}

fn main() {}
