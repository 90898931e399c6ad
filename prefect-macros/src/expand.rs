//! The parse → check → generate pipeline, and the generation shared by `#[task]` and
//! `#[flow]`.
//!
//! The expansion is glue only: a same-named struct holding the descriptor (see
//! [`crate::descriptor`]) and the untouched body as `call_direct`, and a wrapper fn that
//! packs the arguments and hands them to `__private_v1::task_call` / `flow_call`. The
//! wrappers themselves differ and live in `task.rs` and `flow.rs`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens as _, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Attribute, Error, Ident, ItemFn};

use crate::args::{self, Kind};
use crate::check;
use crate::descriptor;
pub(crate) use crate::spec::Spec;

/// Runs the pipeline; on error, emits the errors next to the unchanged item.
pub(crate) fn entry(
    kind: Kind,
    args: TokenStream,
    item: TokenStream,
    generate: fn(&Spec) -> TokenStream,
) -> TokenStream {
    match spec(kind, args, item.clone()) {
        Ok(spec) => generate(&spec),
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#error #item)
        }
    }
}

/// Parses and checks the attribute and its fn, collecting every error.
pub(crate) fn spec(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<Spec> {
    let item = syn::parse2::<ItemFn>(item).map_err(|e| {
        let msg = format!("#[{}] can only be applied to a fn", kind.name());
        Error::new(e.span(), msg)
    });
    let func = item.and_then(|item| check::signature(kind, item));
    let (args, func) = check::both(args::parse(kind, args), func)?;
    check::combination(kind, &args, &func)?;
    let krate = args.krate.clone().unwrap_or_else(|| syn::parse_quote!(::prefect));
    Ok(Spec { kind, args, func, krate })
}

/// `struct name {}` with `call_direct`, the `task()` / `flow()` descriptor and `extra`
/// associated items.
pub(crate) fn companion(spec: &Spec, extra: TokenStream) -> TokenStream {
    let ItemFn { vis, sig, block, .. } = &spec.func.item;
    let (ident, kind, krate) = (spec.ident(), spec.kind.name(), &spec.krate);
    let (cfgs, lints) = (spec.cfg_attrs(), spec.lint_attrs());
    let struct_doc =
        format!("Metadata and direct access for the {kind} `{ident}` (see the function of the same name).");
    let direct_doc = format!("Runs the body of `{ident}` directly, without the engine: no run is recorded.");
    let descriptor_doc = format!("The {kind} descriptor built from the attribute's options.");
    let mut direct = sig.clone();
    direct.ident = Ident::new("call_direct", sig.ident.span());
    let direct = quote_spanned!(block.span()=> #vis #direct #block);
    let (accessor, ty, chain) = (spec.accessor(), spec.descriptor_type(), descriptor::builder(spec));
    quote! {
        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #[doc = #struct_doc]
        #[derive(::core::fmt::Debug)]
        #vis struct #ident {}

        #(#cfgs)*
        impl #ident {
            #[doc = #direct_doc]
            #[allow(dead_code)]
            #(#lints)*
            #direct

            #[doc = #descriptor_doc]
            #vis fn #accessor() -> &'static #ty {
                static __PREFECT_DESCRIPTOR: #krate::__private_v1::LazyLock<#ty> =
                    #krate::__private_v1::LazyLock::new(|| {
                        // The program's defaults, once, before its first run.
                        #krate::__private_v1::install_defaults(&#krate::__private_v1::DEFAULTS);
                        #chain
                    });
                &__PREFECT_DESCRIPTOR
            }

            #extra
        }
    }
}

/// The user's fn, now returning `ret`: `params` and `statements` come from the kind.
///
/// The signature and braces carry the user's span so that lints (dead code) see the
/// wrapper as the fn the user wrote; the statements inside stay macro-generated.
pub(crate) fn wrapper(
    spec: &Spec,
    params: TokenStream,
    ret: TokenStream,
    statements: TokenStream,
) -> TokenStream {
    let (ident, vis) = (spec.ident(), &spec.func.item.vis);
    let attrs = spec.func.item.attrs.iter().map(wrapper_attr);
    quote_spanned! {ident.span()=>
        #(#attrs)*
        #vis fn #ident(#params) -> #ret {
            #statements
        }
    }
}

/// The user's attributes go on the wrapper, except that `expect` becomes `allow`:
/// the expectation is checked on `call_direct`, which holds the body.
fn wrapper_attr(attr: &Attribute) -> Attribute {
    let mut attr = attr.clone();
    if let syn::Meta::List(list) = &mut attr.meta
        && list.path.is_ident("expect")
    {
        list.path = syn::parse_quote!(allow);
    }
    attr
}

/// `Some(format!(template, name = value(name), ..))` for a run-name template, else `None`.
pub(crate) fn run_name(spec: &Spec, value: impl Fn(&Ident) -> TokenStream) -> TokenStream {
    let Some(template) = &spec.args.run_name else {
        return quote!(::core::option::Option::None);
    };
    let names = crate::template::placeholders(&template.value()).unwrap_or_default();
    let used = spec.func.params.iter().filter(|p| names.contains(&p.name())).map(|p| {
        let (ident, value) = (&p.ident, value(&p.ident));
        quote!(#ident = #value)
    });
    quote!(::core::option::Option::Some(::std::format!(#template, #(#used),*)))
}

/// The body the engine calls with the packed arguments, once per attempt:
/// `Body::Async(fn)` or, for a sync fn, `Body::Blocking(fn)`.
pub(crate) fn body(spec: &Spec) -> TokenStream {
    let (krate, ident, idents) = (&spec.krate, spec.ident(), spec.idents());
    let convert = Ident::new(spec.func.output.converter(), Span::call_site());
    let call = quote!(#ident::call_direct(#(#idents),*));
    if spec.is_async() {
        // Only `boxed(async move { .. })` carries the fn name's span, so a `!Send`
        // body is reported there; the code inside stays macro-generated for lints.
        let outcome = quote!(#krate::__private_v1::#convert(#call.await));
        let spanned = respan(krate.to_token_stream(), ident.span());
        let run = quote_spanned!(ident.span()=> #spanned::__private_v1::boxed(async move { #outcome }));
        quote!(#krate::__private_v1::Body::Async(|(#(#idents,)*)| #run))
    } else {
        let run = quote!(#krate::__private_v1::#convert(#call));
        quote!(#krate::__private_v1::Body::Blocking(|(#(#idents,)*)| #run))
    }
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    let respan_tree = |mut tree: TokenTree| {
        if let TokenTree::Group(group) = &tree {
            tree = TokenTree::Group(Group::new(group.delimiter(), respan(group.stream(), span)));
        }
        tree.set_span(span);
        tree
    };
    tokens.into_iter().map(respan_tree).collect()
}

/// `&'static CacheSource<Output>`: `source`, built once, in a static of the wrapper (a
/// call then carries a pointer, not the source).
pub(crate) fn static_cache_source(spec: &Spec, source: TokenStream) -> TokenStream {
    let (krate, output) = (&spec.krate, spec.func.output.ty());
    quote! {{
        static __PREFECT_CACHE: #krate::__private_v1::LazyLock<#krate::__private_v1::CacheSource<#output>> =
            #krate::__private_v1::LazyLock::new(|| #source);
        &*__PREFECT_CACHE
    }}
}

/// `Some(clone)` when the argument tuple is `Clone` (autoref probe).
pub(crate) fn cloner(spec: &Spec) -> TokenStream {
    let (krate, types) = (&spec.krate, spec.types());
    quote! {{
        #[allow(unused_imports)]
        use #krate::__private_v1::{NoClone as _, ViaClone as _};
        (&&#krate::__private_v1::Probe::<(#(#types,)*)>::new()).cloner()
    }}
}

/// `Some(codec)` when the output type is a serde type, else `None` (autoref probe).
pub(crate) fn codec(spec: &Spec) -> TokenStream {
    let (krate, output) = (&spec.krate, spec.func.output.ty());
    quote! {{
        #[allow(unused_imports)]
        use #krate::__private_v1::{NoCodec as _, ViaCodec as _};
        (&&#krate::__private_v1::Probe::<#output>::new()).codec()
    }}
}

/// With `retries > 0` every argument must be `Clone`: each attempt gets a fresh copy.
pub(crate) fn clone_check(spec: &Spec) -> TokenStream {
    if spec.args.retries.is_none_or(|r| r.value == 0) {
        return TokenStream::new();
    }
    let checks = spec.func.params.iter().map(|p| {
        let ty = &p.ty;
        quote_spanned!(ty.span()=> __prefect_retried_arg::<#ty>();)
    });
    quote! {
        {
            #[diagnostic::on_unimplemented(
                message = "`{Self}` is not `Clone`, but a task or flow with `retries` needs `Clone` arguments",
                label = "not `Clone`",
                note = "each attempt runs on a fresh clone of the arguments; derive or implement `Clone`, or drop `retries`"
            )]
            trait __PrefectRetriedArg {}
            impl<T: ::core::clone::Clone> __PrefectRetriedArg for T {}
            fn __prefect_retried_arg<T: __PrefectRetriedArg>() {}
            #(#checks)*
        }
    }
}

#[cfg(test)]
mod tests;
