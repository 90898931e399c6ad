//! What the PostgreSQL tests share: finding the server, and schemas that
//! are dropped when the test ends.
#![allow(dead_code)]

use std::time::Duration;

/// The server's URL, or `None` (with the reason printed) when none answers;
/// under `CI=true` a missing server fails the test.
pub(crate) fn server() -> Option<String> {
    let url = std::env::var("PREFECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    let config: tokio_postgres::Config = url.parse().expect("PREFECT_TEST_POSTGRES_URL is a PostgreSQL URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let reachable =
        std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok();
    if reachable {
        return Some(url);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true and no PostgreSQL server answers at {url}: the PostgreSQL tests must run");
    }
    eprintln!("SKIPPED the PostgreSQL tests: no server answers at {url} (set PREFECT_TEST_POSTGRES_URL)");
    None
}

/// Runs `sql` on the server.
pub(crate) fn sql(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = driver.await;
    });
}

/// Drops every schema named `prefix...` when dropped (and when made, in case
/// an earlier run with the same pid left some).
pub(crate) struct Schemas {
    url: String,
    prefix: String,
}

impl Schemas {
    pub(crate) fn new(url: &str, prefix: &str) -> Schemas {
        let schemas = Schemas { url: url.to_owned(), prefix: prefix.to_owned() };
        schemas.drop_all();
        schemas
    }

    fn drop_all(&self) {
        sql(
            &self.url,
            &format!(
                "DO $$ DECLARE s text; BEGIN
                   FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE '{}%' LOOP
                     EXECUTE 'DROP SCHEMA ' || quote_ident(s) || ' CASCADE';
                   END LOOP;
                 END $$",
                self.prefix
            ),
        );
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        self.drop_all();
    }
}
