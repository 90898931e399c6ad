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
        "pubfnfetch(url:impl::prefect::__private::TaskInput<String>,n:impl::prefect::__private::TaskInput<u32>)\
         ->::prefect::TaskCall<String>"
    ));
    assert!(out.contains("url=::prefect::__private::template_value(&url)"));
    assert!(out.contains("::prefect::__private::task_call_inputs(fetch::task(),__prefect_upstream,"));
    assert!(out.contains("::prefect::__private::from_result(fetch::call_direct(url,n).await)"));
    assert!(out.contains("__prefect_retried_arg::<String>();"));
    assert!(out.contains("pubfnmap(url:impl::prefect::__private::MapArg<String>,"));
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
    assert!(
        out.contains(
            "prefect_core::__private::flow_call_blocking(daily_etl::flow(),__prefect_params,(day,),"
        )
    );
    assert!(out.contains("::std::format!(\"etl-{day}\",day=&day)"));
    assert!(out.contains("prefect_core::__private::from_value(daily_etl::call_direct(day))"));
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
    assert!(out.contains("task_call_blocking_inputs(tick::task(),__prefect_upstream,"));
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
