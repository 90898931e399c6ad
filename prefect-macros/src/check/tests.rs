use proc_macro2::TokenStream;
use quote::quote;

use super::*;
use crate::args;

fn check(kind: Kind, attr: TokenStream, item: TokenStream) -> Result<CheckedFn, Vec<String>> {
    let messages = |e: Error| e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let args = args::parse(kind, attr).map_err(messages)?;
    let func = signature(kind, syn::parse2(item).unwrap()).map_err(messages)?;
    combination(kind, &args, &func).map_err(messages)?;
    Ok(func)
}

fn errors(kind: Kind, attr: TokenStream, item: TokenStream) -> Vec<String> {
    check(kind, attr, item).unwrap_err()
}

#[test]
fn accepts_owned_named_arguments() {
    let func = check(
        Kind::Task,
        quote!(),
        quote!(
            async fn f(mut a: String, r#b: Vec<u8>) {}
        ),
    )
    .unwrap();
    let names: Vec<_> = func.params.iter().map(|p| p.ident.to_string()).collect();
    assert_eq!(names, ["a", "r#b"]);
}

#[test]
fn rejects_references() {
    let msgs = errors(
        Kind::Task,
        quote!(),
        quote!(
            fn f(a: &str, b: &mut Vec<u8>, c: &'static [u8]) {}
        ),
    );
    assert_eq!(
        msgs,
        [
            "task arguments are passed by value; take an owned type such as `String` instead of `&str`",
            "task arguments are passed by value; take an owned type such as `Vec<u8>` instead of `&mut Vec<u8>`",
            "task arguments are passed by value; take an owned type such as `Vec<u8>` instead of `&'static [u8]`",
        ]
    );
}

#[test]
fn rejects_self_patterns_and_reserved_names() {
    let msgs = errors(
        Kind::Flow,
        quote!(),
        quote!(
            fn f(&self, (a, b): (u8, u8), wait_for: u8, return_state: u8) {}
        ),
    );
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    assert!(msgs[0].starts_with("#[flow] cannot take `self`"));
    assert!(msgs[1].starts_with("flow arguments need a plain name"));
    assert!(msgs[2].starts_with("`wait_for` is reserved by prefect"));
    assert!(msgs[3].starts_with("`return_state` is reserved by prefect"));
}

#[test]
fn rejects_qualifiers_and_generics() {
    let msgs = errors(
        Kind::Task,
        quote!(),
        quote!(
            const unsafe extern "C" fn f<T>(x: impl Sized) -> impl Sized {}
        ),
    );
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    assert!(msgs[0].contains("`const fn`"));
    assert!(msgs[1].contains("`unsafe fn`"));
    assert!(msgs[2].contains("`extern` fn"));
    assert!(msgs[3].contains("generic parameters"));
    assert!(msgs[4].starts_with("`impl Trait` arguments"));
    assert!(msgs[5].starts_with("`impl Trait` return types"));
}

#[test]
fn flow_names_reject_reserved_characters() {
    let msgs = errors(
        Kind::Flow,
        quote!(name = "a/b"),
        quote!(
            fn f() {}
        ),
    );
    assert_eq!(msgs, ["flow name `a/b` contains `/`; flow names must not contain `/`, `%`, `&`, `>` or `<`"]);
    assert!(
        check(
            Kind::Task,
            quote!(name = "a/b"),
            quote!(
                fn f() {}
            )
        )
        .is_ok()
    );
}

#[test]
fn run_name_placeholders_must_be_parameters() {
    let ok = quote!(flow_run_name = "etl-{day}-{{literal}}");
    assert!(
        check(
            Kind::Flow,
            ok,
            quote!(
                fn etl(day: String) {}
            )
        )
        .is_ok()
    );
    let msgs = errors(
        Kind::Task,
        quote!(task_run_name = "x-{urll}"),
        quote!(
            fn fetch(url: String, n: u8) {}
        ),
    );
    assert_eq!(msgs, ["unknown placeholder `{urll}` in the run name; the parameters of `fetch` are: url, n"]);
    let msgs = errors(
        Kind::Task,
        quote!(task_run_name = "x-{a}"),
        quote!(
            fn fetch() {}
        ),
    );
    assert_eq!(msgs, ["unknown placeholder `{a}` in the run name; `fetch` has no parameters"]);
}

#[test]
fn task_parameters_cannot_share_the_task_name() {
    let msgs = errors(
        Kind::Task,
        quote!(),
        quote!(
            fn count(count: u32) {}
        ),
    );
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].starts_with("a parameter cannot share the task's name `count`"), "{msgs:?}");
    assert!(
        check(
            Kind::Flow,
            quote!(),
            quote!(
                fn count(count: u32) {}
            )
        )
        .is_ok()
    );
}

#[test]
fn persist_result_false_contradicts_caching() {
    let item = || {
        quote!(
            fn f(a: u8) -> u8 {
                a
            }
        )
    };
    let msgs = errors(Kind::Task, quote!(persist_result = false, target = "x", cache_key = inputs), item());
    assert_eq!(
        msgs,
        ["`persist_result = false` turns off the stored records that `target` needs; drop one of them"]
    );
    let msgs = errors(Kind::Task, quote!(cache_expiration = "1h", persist_result = false), item());
    assert!(msgs[0].contains("that `cache_expiration` needs"), "{msgs:?}");
    for fine in [
        quote!(persist_result = false, cache_key = none),
        quote!(persist_result = false, refresh_cache = false),
        quote!(persist_result = true, refresh_cache = true),
    ] {
        assert!(check(Kind::Task, fine, item()).is_ok());
    }
}

#[test]
fn storage_key_parameters_must_be_parameters() {
    let item = || {
        quote!(
            fn fetch(city: String, day: u8) {}
        )
    };
    let ok = quote!(
        result_storage_key = "{parameters.city}/{parameters[day]}-{task_name}",
        target = "{parameters.city.x}"
    );
    assert!(check(Kind::Task, ok, item()).is_ok());
    let msgs = errors(Kind::Task, quote!(target = "{parameters.town}/{parameters[dya]}"), item());
    assert_eq!(
        msgs,
        [
            "unknown parameter `town` in `{parameters.town}` in `target`; the parameters of `fetch` are: city, day",
            "unknown parameter `dya` in `{parameters[dya]}` in `target`; the parameters of `fetch` are: city, day",
        ]
    );
}

#[test]
fn flow_storage_keys_have_no_task_placeholders() {
    let item = || {
        quote!(
            fn etl(day: String) {}
        )
    };
    let ok = quote!(result_storage_key = "{flow_name}/{flow_run.id}/{parameters.day}-{date:%Y}");
    assert!(check(Kind::Flow, ok, item()).is_ok());
    let msgs =
        errors(Kind::Flow, quote!(result_storage_key = "{task_name}/{map_index}/{parameters.x}"), item());
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(
        msgs[0].starts_with(
            "`{task_name}` has no value in a flow's `result_storage_key`: only task runs have it"
        )
    );
    assert!(msgs[1].starts_with("`{map_index}` has no value"));
    assert_eq!(
        msgs[2],
        "unknown parameter `x` in `{parameters.x}` in `result_storage_key`; the parameters of `etl` are: day"
    );
    assert!(check(Kind::Task, quote!(result_storage_key = "{task_name}/{map_index}"), item()).is_ok());
}
