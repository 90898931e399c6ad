use proc_macro2::TokenStream;
use quote::quote;

use super::*;

fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> String {
    let out = match kind {
        Kind::Task => crate::task::expand(attr, item),
        Kind::Flow => crate::flow::expand(attr, item),
    };
    syn::parse2::<syn::File>(out.clone()).expect("the expansion is valid Rust");
    out.to_string().replace(' ', "")
}

#[test]
fn task_expansion_builds_the_descriptor_and_takes_inputs() {
    let out = expand(
        Kind::Task,
        quote!(retries = 3, retry_delay = "2s", tags = ["api"], task_run_name = "f-{url}"),
        quote!(
            pub async fn fetch(url: String, n: u32) -> Result<String, E> {
                todo!()
            }
        ),
    );
    assert!(out.contains("pubstructfetch{}"));
    assert!(out.contains(
        "::prefect::Task::new(\"fetch\").tags([\"api\"]).retries(3u32)\
         .retry_delay(::core::time::Duration::from_nanos(2000000000u64))"
    ));
    assert!(out.contains(
        "pubfnfetch(url:impl::prefect::__private_v1::TaskInput<String>,n:impl::prefect::__private_v1::TaskInput<u32>)\
         ->::prefect::TaskCall<String>"
    ));
    assert!(out.contains("url=::prefect::__private_v1::template_value(&url)"));
    assert!(
        out.contains("::prefect::__private_v1::task(::prefect::__private_v1::TaskParts{task:fetch::task(),")
    );
    assert!(out.contains("body:::prefect::__private_v1::Body::Async("));
    assert!(out.contains("::prefect::__private_v1::from_result(fetch::call_direct(url,n).await)"));
    assert!(out.contains("__prefect_retried_arg::<String>();"));
    assert!(out.contains("pubfnmap(url:impl::prefect::__private_v1::MapArg<String>,"));
    assert!(out.contains("::prefect::__private_v1::install_defaults(&::prefect::__private_v1::DEFAULTS);"));
}

#[test]
fn sync_flow_uses_the_blocking_call_and_crate_override() {
    let out = expand(
        Kind::Flow,
        quote!(crate = "prefect_core", flow_run_name = "etl-{day}", task_runner = sequential),
        quote!(
            fn daily_etl(day: String) -> u64 {
                1
            }
        ),
    );
    assert!(out.contains("prefect_core::Flow::new(\"daily-etl\")"));
    assert!(out.contains(".task_runner(prefect_core::runner::SequentialTaskRunner::new)"));
    assert!(out.contains("fndaily_etl(day:String)->prefect_core::FlowCall<u64>"));
    assert!(out.contains(
        "prefect_core::__private_v1::flow(prefect_core::__private_v1::FlowParts{flow:daily_etl::flow(),\
         parameters:__prefect_params,args:(day,),"
    ));
    assert!(out.contains("body:prefect_core::__private_v1::Body::Blocking("));
    assert!(out.contains("::std::format!(\"etl-{day}\",day=&day)"));
    assert!(out.contains("prefect_core::__private_v1::from_value(daily_etl::call_direct(day))"));
    assert!(!out.contains("__prefect_retried_arg"));
    assert!(!out.contains("fnmap"));
}

#[test]
fn tasks_without_parameters_have_no_map() {
    let out = expand(
        Kind::Task,
        quote!(),
        quote!(
            fn tick() {}
        ),
    );
    assert!(out.contains("TaskParts{task:tick::task(),upstream:__prefect_upstream,"));
    assert!(out.contains("body:::prefect::__private_v1::Body::Blocking("));
    assert!(!out.contains("fnmap"));
}

#[test]
fn errors_keep_the_original_item() {
    let out = expand(
        Kind::Task,
        quote!(retires = 3),
        quote!(
            fn f(a: &str) {}
        ),
    );
    assert!(out.contains("compile_error"));
    assert!(out.contains("unknownoption`retires`"));
    assert!(out.contains("taskargumentsarepassedbyvalue"));
    assert!(out.ends_with("fnf(a:&str){}"), "{out}");
}

#[test]
fn non_fn_items_are_rejected() {
    let out = expand(
        Kind::Flow,
        quote!(),
        quote!(
            struct S;
        ),
    );
    assert!(out.contains("#[flow]canonlybeappliedtoafn"));
    assert!(out.ends_with("structS;"));
}

#[test]
fn respan_reaches_into_groups() {
    let span = Span::call_site();
    let out = respan(quote!(a::b(c)), span);
    assert_eq!(out.to_string(), "a :: b (c)");
}

#[test]
fn task_result_options_extend_the_builder_chain() {
    let out = expand(
        Kind::Task,
        quote!(
            persist_result = true,
            result_storage = "results",
            result_serializer = "zstd+postcard",
            result_storage_key = "{task_name}/{parameters.url}.bin",
            cache_key = input_hash(exclude = ["client"]) + run_id,
            cache_expiration = "1d",
            refresh_cache = true,
            target = "t/{parameters.url}",
        ),
        quote!(
            async fn fetch(client: Client, url: String) -> String {
                url
            }
        ),
    );
    let chain = "::prefect::Task::new(\"fetch\")\
        .persist_result(true)\
        .result_storage(::prefect::results::LocalStorage::new(\"results\"))\
        .result_serializer(::prefect::results::Serializer::POSTCARD.compressed())\
        .result_storage_key(\"{task_name}/{parameters.url}.bin\")\
        .cache_policy(::prefect::results::CachePolicy::none().and_inputs().and_task_source().and_run_id()\
        .exclude([\"client\"]))\
        .cache_expiration(::core::time::Duration::from_nanos(86400000000000u64))\
        .refresh_cache(true)\
        .target(\"t/{parameters.url}\")\
        .source_hash(\"";
    assert!(out.contains(chain), "{out}");
    // The return type is checked (spanned on the first option), and so is `url`, which
    // the key hashes; `client` is excluded.
    assert!(out.contains("__prefect_stored_output::<String>();"));
    assert!(out.contains("`persist_result`storesthereturnvalue"));
    assert!(out.contains("__prefect_hashed_input1::<String>();"));
    assert!(!out.contains("__prefect_hashed_input0"));
}

#[test]
fn custom_key_fns_and_factories() {
    let out = expand(
        Kind::Task,
        quote!(cache_key = keys::by_city, result_storage = storage::make, result_serializer = "json"),
        quote!(
            fn weather(city: String) -> u8 {
                0
            }
        ),
    );
    assert!(out.contains(
        ".result_storage(storage::make()).result_serializer(::prefect::results::Serializer::JSON)\
         .cache_key_fn({let__prefect_key_fn:fn(&::prefect::context::TaskRunContext,&::prefect::results::CacheInputs,)\
         ->::core::option::Option<::std::string::String>=keys::by_city;__prefect_key_fn}).source_hash("
    ));
    assert!(out.contains("`cache_key`storesthereturnvalue"));
    assert!(!out.contains("__prefect_hashed_input"));
}

#[test]
fn every_task_gets_a_source_hash_and_no_bounds_without_options() {
    let hash = |body: TokenStream| {
        let out = expand(Kind::Task, quote!(), quote!(fn tick() -> u8 { #body }));
        let start = out.find(".source_hash(\"").expect("a source hash") + ".source_hash(\"".len();
        assert!(!out.contains("__prefect_stored_output"));
        out[start..start + 32].to_owned()
    };
    assert_eq!(hash(quote!(1 + 1)), hash(quote!(1 + 1)));
    assert_ne!(hash(quote!(1 + 1)), hash(quote!(1 + 2)));
    let out = expand(
        Kind::Task,
        quote!(cache_key = none, refresh_cache = false),
        quote!(
            fn tick() {}
        ),
    );
    assert!(
        out.contains(
            ".cache_policy(::prefect::results::CachePolicy::NONE).refresh_cache(false).source_hash("
        )
    );
    assert!(!out.contains("__prefect_stored_output"));
}

#[test]
fn flow_result_options() {
    let out = expand(
        Kind::Flow,
        quote!(
            crate = "prefect_core",
            persist_result = true,
            result_storage_key = "{flow_name}/{parameters.day}"
        ),
        quote!(
            fn etl(day: String) -> u64 {
                1
            }
        ),
    );
    assert!(out.contains("prefect_core::Flow::new(\"etl\").version(\""), "a flow is versioned by its source");
    assert!(out.contains(".persist_result(true).result_storage_key(\"{flow_name}/{parameters.day}\")}"));
    assert!(!out.contains("source_hash"));
    assert!(out.contains("<T:prefect_core::__private_v1::serde::Serialize>"));
    assert!(out.contains("<T:prefect_core::__private_v1::serde::de::DeserializeOwned>"));
    assert!(out.contains("__prefect_loaded_output::<u64>();"));
    assert!(out.contains("__prefect_stored_output::<u64>();"));
    let out = expand(
        Kind::Flow,
        quote!(persist_result = false),
        quote!(
            fn etl() {}
        ),
    );
    assert!(out.contains(".persist_result(false)}"));
    assert!(!out.contains("__prefect_stored_output"));
}
