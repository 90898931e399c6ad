use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser as _;

use super::*;
use crate::args::Kind;

fn key(tokens: TokenStream) -> syn::Result<CacheKey> {
    parse.parse2(tokens)
}

fn err(tokens: TokenStream) -> Vec<String> {
    key(tokens).unwrap_err().into_iter().map(|e| e.to_string()).collect()
}

/// The emitted `.cache_policy(..)` call, without spaces.
fn emitted(tokens: TokenStream) -> String {
    let krate: Path = syn::parse_quote!(::prefect);
    builder(&key(tokens).unwrap(), &krate).to_string().replace(' ', "")
}

#[test]
fn terms_become_policy_chains() {
    let p = "::prefect::results::CachePolicy";
    assert_eq!(
        emitted(quote!(input_hash)),
        format!(".cache_policy({p}::none().and_inputs().and_task_source())")
    );
    assert_eq!(emitted(quote!(default)), format!(".cache_policy({p}::DEFAULT)"));
    assert_eq!(emitted(quote!(none)), format!(".cache_policy({p}::NONE)"));
    assert_eq!(
        emitted(quote!(inputs(exclude = ["client", "db"]) + flow_parameters + run_id)),
        format!(
            ".cache_policy({p}::none().and_inputs().and_flow_parameters().and_run_id().exclude([\"client\",\"db\"]))"
        )
    );
    assert_eq!(emitted(quote!(task_source + default)), format!(".cache_policy({p}::DEFAULT)"));
    assert_eq!(
        emitted(quote!(input_hash(exclude = ["c"]) + run_id)),
        format!(".cache_policy({p}::none().and_inputs().and_task_source().and_run_id().exclude([\"c\"]))")
    );
}

#[test]
fn a_path_alone_is_a_key_fn() {
    let key_fn = |path: &str| {
        format!(
            ".cache_key_fn({{let__prefect_key_fn:fn(&::prefect::context::TaskRunContext,&::prefect::results::CacheInputs,)\
             ->::core::option::Option<::std::string::String>={path};__prefect_key_fn}})"
        )
    };
    assert_eq!(emitted(quote!(keys::by_city)), key_fn("keys::by_city"));
    assert_eq!(emitted(quote!(my_key)), key_fn("my_key"));
    assert!(!key(quote!(my_key)).unwrap().is_none());
    assert!(key(quote!(none)).unwrap().is_none());
}

#[test]
fn rejects_surprising_combinations() {
    assert_eq!(
        err(quote!(input_hash + my_key)),
        ["a custom cache key fn cannot be combined with `+`; compute the whole key in the fn, or use only \
          input_hash, inputs, task_source, flow_parameters, run_id and default"]
    );
    assert_eq!(
        err(quote!(none + inputs)),
        ["`none` turns caching off and cannot be combined with other terms"]
    );
    assert_eq!(err(quote!(run_id + run_id)), ["`run_id` is given twice"]);
    assert_eq!(
        err(quote!(default + inputs(exclude = ["a"]))),
        ["the inputs are already part of this key through `default`; name them once"]
    );
    let msgs = err(quote!(default(exclude = ["a"]) + task_source(exclude = [])));
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(
        msgs[0],
        "only `inputs` and `input_hash` take `exclude`; write `input_hash(exclude = [..])` + run_id instead"
    );
    assert_eq!(
        msgs[1],
        "only `inputs` and `input_hash` take `exclude`; write `input_hash(exclude = [..])` instead"
    );
    assert_eq!(
        err(quote!(keys::my_key())),
        ["`cache_key` takes the key fn itself, without arguments, as in `cache_key = keys::my_key`"]
    );
    assert_eq!(
        err(quote!(input_hsh(exclude = ["a"]))),
        ["unknown cache key term; did you mean `input_hash`?"]
    );
}

#[test]
fn rejects_malformed_terms() {
    assert_eq!(
        err(quote!("inputs")),
        ["expected a cache key such as `input_hash`, `inputs + run_id` or the path of a key fn"]
    );
    assert_eq!(err(quote!(inputs(skip = ["a"]))), ["expected `exclude = [\"argument\", ..]`"]);
    assert_eq!(err(quote!(inputs(exclude = ["a"], x))), ["expected `)` after the exclude list"]);
    assert!(err(quote!(inputs(exclude = "a")))[0].starts_with("expected a list of strings"));
}

#[test]
fn exclusions_must_be_parameters() {
    let func = crate::check::signature(
        Kind::Task,
        syn::parse_quote!(
            fn fetch(client: C, url: String) {}
        ),
    )
    .unwrap();
    assert!(check(&key(quote!(input_hash(exclude = ["client"]))).unwrap(), &func).is_ok());
    let msgs: Vec<String> = check(&key(quote!(inputs(exclude = ["clinet", "url", "x"]))).unwrap(), &func)
        .unwrap_err()
        .into_iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        msgs,
        [
            "cannot exclude `clinet`: the parameters of `fetch` are: client, url",
            "cannot exclude `x`: the parameters of `fetch` are: client, url",
        ]
    );
}

#[test]
fn suggested_fix_keeps_the_rest_of_the_policy() {
    let CacheKey::Policy(policy) = key(quote!(default)).unwrap() else { unreachable!() };
    assert_eq!(policy.written_excluding("conn"), "input_hash(exclude = [\"conn\"]) + run_id");
    let CacheKey::Policy(policy) = key(quote!(inputs(exclude = ["a"]) + flow_parameters)).unwrap() else {
        unreachable!()
    };
    assert_eq!(policy.written_excluding("b"), "inputs(exclude = [\"a\", \"b\"]) + flow_parameters");
}
