//! Task arguments may be values or upstream futures (recorded as dependencies), and
//! `name::map(..)` runs a task once per element.

use prefect::futures::unmapped;
use prefect::prelude::*;

#[task]
async fn double(x: u64) -> u64 {
    x * 2
}

#[task(task_run_name = "add-{a}-{b}")]
async fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[task]
fn sum(values: Vec<u64>) -> u64 {
    values.iter().sum()
}

#[task]
async fn scale(x: u64, factor: u64, label: String) -> String {
    format!("{label}{}", x * factor)
}

#[flow]
async fn pipeline() -> Result<u64, prefect::Error> {
    let a = double(1).submit();
    let b = double(2).submit();
    let c = add(a, b).submit();
    let total = sum(vec![c, double(10).submit()]).await?;
    Ok(total)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A pass case must print nothing: trybuild shows a program\'s output.
    prefect::logging::init_with_level("off").unwrap();
    let h = prefect::testing::harness();
    assert_eq!(h.run(pipeline()).await.unwrap(), 26);
    let add_run = h.task_runs_of("add").remove(0);
    assert_eq!(add_run.upstream.len(), 2, "both futures are recorded as edges");
    assert_eq!(add_run.record.name, "add-<upstream>-<upstream>");
    assert_eq!(h.run(add(1, 2)).await.unwrap(), 3);
    assert_eq!(h.task_runs_of("add")[1].record.name, "add-1-2");

    let scaled = h.run(scale::map(vec![1, 2], vec![10, 20], unmapped("x".to_owned()))).await;
    let scaled: Vec<String> = scaled.into_iter().map(Result::unwrap).collect();
    assert_eq!(scaled, ["x10", "x40"]);
    let mismatched = h.run(scale::map(vec![1, 2], vec![10], unmapped(String::new()))).await;
    assert!(mismatched[0].is_err(), "lengths must agree");
    // Borrowed arguments are cloned at the call; text fits a String parameter.
    let label = String::from("y");
    let factor = 3u64;
    assert_eq!(h.run(scale(2, &factor, &label)).await.unwrap(), "y6");
    assert_eq!(h.run(scale(2, 5, "z")).await.unwrap(), "z10");
    // A map over values or over futures: an empty Vec needs its item type.
    assert!(h.run(double::map(Vec::<u64>::new())).await.is_empty());
}
