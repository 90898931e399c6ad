//! One binary, started on as many machines as the work needs, sharing one
//! PostgreSQL run database: each copy registers the deployment (the same
//! one: registering again changes nothing) and works its queue, and the
//! database hands every queued run to exactly one of them.
//!
//! ```text
//! export PREFECT_API_DATABASE_URL=postgresql://user@db-host:5432/prefect
//! cargo run --example many_machines                  # on each machine, until Ctrl-C
//! cargo run --example many_machines -- enqueue 20    # anywhere: queue 20 runs
//! prefect worker ls                                  # who is working
//! prefect flow-run ls --flow resize                  # what ran, and where it stands
//! ```
//!
//! A run queued while every copy idles starts within milliseconds (the
//! workers wait on `LISTEN/NOTIFY`). Kill a copy mid-run and its runs end
//! Crashed once its lease lapses; `resize` has a retry, so another copy
//! runs them again. Without `PREFECT_API_DATABASE_URL` the copies share the
//! local SQLite database instead, on one machine.

use std::time::Duration;

use prefect::prelude::*;

/// Pretends to resize one image.
#[task]
async fn load(image: String) -> usize {
    image.len() * 1_000
}

#[flow(retries = 1)]
async fn resize(image: String) -> Result<usize, prefect::Error> {
    let bytes = load(image.clone()).await?;
    info!(%image, bytes, "resized");
    Ok(bytes)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("enqueue") => {
            let count: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(10);
            for i in 0..count {
                let image = format!("img-{i:04}.png");
                let run = prefect::run_deployment("resize/batch", serde_json::json!({ "image": image }))
                    .no_wait()
                    .await?;
                println!("queued {} ({image})", run.name);
            }
        }
        _ => {
            // The work queue `images`, a lease that lapses 10 s after this
            // copy stops renewing it, and up to 8 runs at once per copy.
            // One copy stopping leaves the deployment to the others.
            let batch = resize::deployment("batch").work_queue("images").parameter("image", "sample.png");
            let served = prefect::serve([batch])
                .heartbeat(Duration::from_secs(2))
                .lease_ttl(Duration::from_secs(10))
                .limit(8)
                .keep_schedules_on_shutdown()
                .await?;
            println!("served: {} run(s) started, {} completed", served.started, served.completed);
        }
    }
    Ok(())
}
