//! `#[task]`: a fn whose every call is a recorded task run.
//!
//! The wrapper takes each argument as `impl TaskInput<T>`: a `T`, or an upstream
//! `TaskFuture<T>` (and the other inputs prefect-core accepts), whose run becomes a
//! dependency. It hands them to `__private_v1::task_call_inputs` (or the `_blocking` form
//! for a sync fn, which the engine runs on the blocking pool). `name::map(..)` runs the
//! task once per element.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::args::Kind;
use crate::expand;
use crate::results;
use crate::spec::Spec;

/// Expands `#[task(args)] item`; on error, the errors plus the unchanged item.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Task, args, item, generate)
}

fn generate(spec: &Spec) -> TokenStream {
    let companion = expand::companion(spec, map(spec));
    let wrapper = wrapper(spec);
    quote!(#companion #wrapper)
}

/// `fn name(a: impl TaskInput<A>, ..) -> TaskCall<T>`.
fn wrapper(spec: &Spec) -> TokenStream {
    let (krate, ident, idents, types) = (&spec.krate, spec.ident(), spec.idents(), spec.types());
    let params = quote!(#(#idents: impl #krate::__private_v1::TaskInput<#types>),*);
    let output = spec.func.output.ty();
    let run_name = expand::run_name(spec, |ident| quote!(#krate::__private_v1::template_value(&#ident)));
    let (check, upstream) = (expand::clone_check(spec), upstream(spec));
    let result_checks = results::checks(spec);
    let (cloner, body, cache) = (expand::cloner(spec), expand::body(spec), cache_source(spec));
    let statements = quote! {
        #check
        #result_checks
        #(let #idents = <_ as #krate::__private_v1::TaskInput<#types>>::into_input(#idents);)*
        // Read before `resolve` takes the inputs.
        let __prefect_run_name: ::core::option::Option<::std::string::String> = #run_name;
        let __prefect_upstream: #krate::__private_v1::Edges = #upstream;
        #krate::__private_v1::task(#krate::__private_v1::TaskParts {
            task: #ident::task(),
            upstream: __prefect_upstream,
            resolve: move || ::core::result::Result::Ok((#(#idents.resolve()?,)*)),
            cloner: #cloner,
            run_name: __prefect_run_name,
            body: #body,
            cache: #cache,
        })
    };
    expand::wrapper(spec, params, quote!(#krate::TaskCall<#output>), statements)
}

/// The codec of the output, and a fn (without captures, so a plain fn pointer) that
/// feeds each resolved argument to the engine's cache key, through `Serialize` when the
/// type has it.
fn cache_source(spec: &Spec) -> TokenStream {
    let (krate, idents, types, names) = (&spec.krate, spec.idents(), spec.types(), names(spec));
    let codec = expand::codec(spec);
    let source = quote! {
        #krate::__private_v1::CacheSource::new(
            #codec,
            |__prefect_args: &dyn ::core::any::Any, __prefect_sink: &mut #krate::__private_v1::InputSink<'_>| {
                #[allow(unused_imports)]
                use #krate::__private_v1::{NoSerialize as _, ViaSerialize as _};
                let ::core::option::Option::Some((#(#idents,)*)) = __prefect_args.downcast_ref::<(#(#types,)*)>() else {
                    return false;
                };
                #((&&#krate::__private_v1::Probe::<#types>::new()).feed(#names, #idents, __prefect_sink);)*
                let _ = __prefect_sink;
                true
            },
        )
    };
    expand::static_cache_source(spec, source)
}

/// The dependency edges of every argument that comes from an upstream run.
fn upstream(spec: &Spec) -> TokenStream {
    let (idents, names) = (spec.idents(), names(spec));
    if idents.is_empty() {
        return quote!(::std::vec::Vec::new());
    }
    quote! {{
        let mut __prefect_edges = ::std::vec::Vec::new();
        #(::core::iter::Extend::extend(&mut __prefect_edges, #idents.edges(#names));)*
        __prefect_edges
    }}
}

/// `name::map(a: impl MapArg<A>, ..) -> MapCall<T>`: one child run per element.
fn map(spec: &Spec) -> TokenStream {
    let (krate, ident, idents, types) = (&spec.krate, spec.ident(), spec.idents(), spec.types());
    if idents.is_empty() {
        return TokenStream::new();
    }
    let (vis, names, output) = (&spec.func.item.vis, names(spec), spec.func.output.ty());
    let doc = format!(
        "Runs `{ident}` once per element, concurrently, with results in input order. Each \
         argument is a `Vec` (one element per run; the lengths must agree), a `Vec` of upstream \
         futures, the future of an upstream that returns a `Vec`, or `unmapped(value)` (the same \
         value for every run)."
    );
    quote! {
        #[doc = #doc]
        #vis fn map(#(#idents: impl #krate::__private_v1::MapArg<#types>),*) -> #krate::__private_v1::MapCall<#output> {
            #(let mut #idents = <_ as #krate::__private_v1::MapArg<#types>>::into_items(#idents);)*
            let __prefect_pending = [#(#idents.upstream()),*].into_iter().flatten().collect();
            #krate::__private_v1::map_call(#ident::task().options().name(), __prefect_pending, move || {
                let __prefect_len = #krate::__private_v1::map_len(
                    #ident::task().options().name(),
                    &[#((#names, #idents.len()?)),*],
                )?;
                ::core::result::Result::Ok(#krate::__private_v1::map_children(__prefect_len, move |_| {
                    ::core::option::Option::Some(#ident(#(#idents.next_item()?),*))
                }))
            })
        }
    }
}

/// The parameter names as string literals (edges and map errors name arguments).
fn names(spec: &Spec) -> Vec<LitStr> {
    spec.func.params.iter().map(|p| LitStr::new(&p.name(), p.ident.span())).collect()
}
