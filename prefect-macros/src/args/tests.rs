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
    assert!(msgs[0].ends_with("on_failure, on_commit, on_rollback, crate"), "{}", msgs[0]);
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
fn closest_option_names() {
    assert_eq!(closest(Kind::Flow, "tag"), Some("tags"));
    assert_eq!(closest(Kind::Flow, "zzzzzz"), None);
}

#[test]
fn parses_result_options() {
    let args = parse(
        Kind::Task,
        quote!(
            persist_result = true,
            result_storage = "out",
            result_serializer = "compressed/json",
            result_storage_key = "{task_name}.json",
            cache_key = input_hash,
            cache_expiration = "1d",
            refresh_cache = false,
            target = "t/{parameters.x}",
        ),
    )
    .unwrap();
    let results = &args.results;
    assert!(results.persist_result.as_ref().unwrap().value.value);
    assert_eq!(results.cache_expiration.as_ref().unwrap().value.value, Duration::from_secs(86_400));
    assert!(!results.refresh_cache.as_ref().unwrap().value.value);
    assert_eq!(results.target.as_ref().unwrap().value.value(), "t/{parameters.x}");
    assert_eq!(results.first_storing.as_ref().unwrap(), "persist_result");
}

#[test]
fn the_first_storing_option_is_the_one_that_asked() {
    let args =
        parse(Kind::Task, quote!(persist_result = false, refresh_cache = false, cache_key = none)).unwrap();
    assert!(args.results.first_storing.is_none());
    let args = parse(Kind::Task, quote!(persist_result = false, cache_key = run_id, target = "x")).unwrap();
    assert_eq!(args.results.first_storing.as_ref().unwrap(), "cache_key");
    let args = parse(Kind::Flow, quote!(result_serializer = "json", persist_result = true)).unwrap();
    assert_eq!(args.results.first_storing.as_ref().unwrap(), "result_serializer");
}

#[test]
fn bad_result_values() {
    let msgs = err(
        Kind::Task,
        quote!(
            result_serializer = "xml",
            result_storage_key = "{flow}",
            cache_expiration = "0s",
            persist_result = yes,
            result_storage = make(),
            result_storage = "",
        ),
    );
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    assert!(msgs[0].starts_with("unknown result serializer `xml`; valid serializers are: json, postcard,"));
    assert!(msgs[1].starts_with("invalid `result_storage_key` template: unknown placeholder `{flow}`"));
    assert_eq!(msgs[2], "cache_expiration must be greater than zero");
    assert_eq!(msgs[3], "persist_result must be `true` or `false`");
    assert_eq!(msgs[4], "give the fn itself, not a call: `result_storage = make`");
    assert_eq!(msgs[5], "duplicate option `result_storage`");
    let msgs = err(Kind::Task, quote!(result_storage = ""));
    assert!(msgs[0].starts_with("result_storage directory is empty"), "{msgs:?}");
}

#[test]
fn cache_option_hints() {
    let msgs = err(Kind::Task, quote!(cache_key_fn = my_key));
    assert!(msgs[0].starts_with("unknown option `cache_key_fn` (use `cache_key = my_fn`)"), "{}", msgs[0]);
    let msgs = err(Kind::Task, quote!(cache_policy = inputs));
    assert!(msgs[0].contains("(use `cache_key = input_hash`"), "{}", msgs[0]);
    let msgs = err(Kind::Task, quote!(result_serialiser = "json"));
    assert!(msgs[0].contains("(did you mean `result_serializer`?)"), "{}", msgs[0]);
    for option in ["cache_key", "cache_expiration", "refresh_cache", "target", "cache_key_fn"] {
        let ident = Ident::new(option, proc_macro2::Span::call_site());
        let msgs = err(Kind::Flow, quote!(#ident = x));
        assert!(msgs[0].contains("(only tasks take this option"), "{}", msgs[0]);
    }
    let msgs = err(Kind::Flow, quote!(retires = 1));
    assert!(msgs[0].contains("result_storage_key, on_running"), "{}", msgs[0]);
}
