//! Each return shape maps to the call's output type.

use prefect::prelude::*;

#[derive(Debug)]
struct Oops;

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops")
    }
}

impl std::error::Error for Oops {}

#[task]
async fn unit() {}

#[task]
async fn plain() -> u8 {
    1
}

#[task]
async fn tuple() -> (u8, String) {
    (1, "a".to_owned())
}

#[task]
async fn result(fail: bool) -> Result<u8, Oops> {
    if fail { Err(Oops) } else { Ok(2) }
}

#[task]
async fn io_result() -> std::io::Result<Vec<u8>> {
    Ok(vec![3])
}

#[task]
async fn boxed_error() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Ok(4)
}

#[task]
async fn state() -> State<u8> {
    State::completed(5)
}

#[task]
async fn states() -> Vec<State<u8>> {
    vec![State::completed(6), State::completed(7)]
}

#[task]
fn sync_result() -> Result<String, Oops> {
    Ok("8".to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A pass case must print nothing: trybuild shows a program\'s output.
    prefect::logging::init_with_level("off").unwrap();
    // Recorded in memory: a test never writes into the real $PREFECT_HOME.
    let h = prefect::testing::harness();
    h.run(async {
        let _: () = unit().await.unwrap();
        let _: u8 = plain().await.unwrap();
        let _: (u8, String) = tuple().await.unwrap();
        assert_eq!(result(false).await.unwrap(), 2);
        assert!(result(true).await.is_err());
        let _: Vec<u8> = io_result().await.unwrap();
        let _: u8 = boxed_error().await.unwrap();
        assert_eq!(state().await.unwrap(), 5);
        assert_eq!(states().await.unwrap(), vec![6, 7]);
        assert_eq!(sync_result().await.unwrap(), "8");
        let _: Result<u8, Oops> = result::call_direct(false).await;
        let _: State<u8> = state::call_direct().await;
    })
    .await;
}
