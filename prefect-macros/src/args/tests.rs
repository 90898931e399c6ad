use super::*;
use quote::quote;

fn err(kind: Kind, tokens: TokenStream) -> Vec<String> {
    let e = parse(kind, tokens).unwrap_err();
    e.into_iter().map(|e| e.to_string()).collect()
}

#[test]
fn parses_every_option() {
    let args = parse(
        Kind::Flow,
        quote!(
            name = "etl",
            description = "d",
            version = "1",
            tags = ["a", "b"],
            retries = 2,
            retry_delay = exponential("1s"),
            retry_jitter = 0.5,
            retry_condition = my::cond,
            timeout = "1m",
            flow_run_name = "etl-{x}",
            on_running = [a, b],
            on_crashed = c,
            crate = "prefect_core",
        ),
    )
    .unwrap();
    assert_eq!(args.name.unwrap().value(), "etl");
    assert_eq!(args.tags.unwrap().len(), 2);
    assert_eq!(args.retries.unwrap().value, 2);
    assert_eq!(args.timeout.unwrap().value, Duration::from_secs(60));
    assert_eq!(args.hooks.len(), 2);
    assert_eq!(args.hooks[1].0, Hook::Crashed);
    assert!(args.krate.is_some() && args.run_name.is_some());
}

#[test]
fn empty_is_default() {
    let args = parse(Kind::Task, TokenStream::new()).unwrap();
    assert!(args.name.is_none() && args.hooks.is_empty());
}

#[test]
fn unknown_options_list_the_valid_ones() {
    let msgs = err(Kind::Task, quote!(retires = 3));
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].starts_with("unknown option `retires` (did you mean `retries`?); valid options are: name,")
    );
    assert!(msgs[0].ends_with("on_failure, crate"), "{}", msgs[0]);
    let msgs = err(Kind::Task, quote!(retry_delay_seconds = 10));
    assert!(msgs[0].contains("use `retry_delay = \"10s\"`"), "{}", msgs[0]);
    let msgs = err(Kind::Task, quote!(on_crashed = [a]));
    assert!(msgs[0].contains("only flows take this hook"), "{}", msgs[0]);
    let msgs = err(Kind::Task, quote!(flow_run_name = "x"));
    assert!(msgs[0].contains("use `task_run_name` on tasks"), "{}", msgs[0]);
}

#[test]
fn errors_accumulate() {
    let msgs = err(Kind::Task, quote!(retries = 1, retries = -1, bogus, timeout = "2 parsecs", name = "ok"));
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[0], "duplicate option `retries`");
    assert!(msgs[1].starts_with("unknown option `bogus`"));
    assert!(msgs[2].starts_with("`2 parsecs` is not a duration"));
}

#[test]
fn malformed_separators() {
    let msgs = err(Kind::Flow, quote!(retries = 1 name = "x"));
    assert_eq!(msgs, ["expected `,`"]);
    let msgs = err(Kind::Flow, quote!("name" = "x"));
    assert_eq!(msgs, ["expected an option name"]);
}

#[test]
fn edit_distances() {
    assert_eq!(edit_distance("retires", "retries"), 2);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(closest(Kind::Flow, "tag"), Some("tags"));
    assert_eq!(closest(Kind::Flow, "zzzzzz"), None);
}
