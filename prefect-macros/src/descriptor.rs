//! The descriptor: `Task::new(name)` / `Flow::new(name)` followed by one public builder
//! call per option given, so the expansion could be written by hand.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::{Ident, LitStr, Path};

use crate::args::{Args, Kind};
use crate::spec::Spec;
use crate::value::{RetryDelay, TaskRunner};
use crate::{results, source};

/// The builder chain for `spec`'s options.
pub(crate) fn builder(spec: &Spec) -> TokenStream {
    let (args, krate) = (&spec.args, &spec.krate);
    let (ty, name) = (spec.descriptor_type(), default_name(spec));
    let name = args.name.as_ref().unwrap_or(&name);
    let mut chain = quote!(#ty::new(#name));
    // The doc comment is the description, and a flow's version is the hash of
    // its source unless one is given, as in Prefect.
    let description = args.description.clone().or_else(|| doc_comment(&spec.func.item.attrs));
    let version = args.version.clone().or_else(|| {
        (spec.kind == Kind::Flow).then(|| {
            let hash = source::source_hash(&spec.func.item);
            LitStr::new(&hash[..hash.len().min(12)], Span::call_site())
        })
    });
    let strings = [("description", &description), ("version", &version)];
    for (method, value) in strings {
        let method = Ident::new(method, Span::call_site());
        chain.extend(value.as_ref().map(|value| quote!(.#method(#value))));
    }
    let tags = args.tags.iter().filter(|tags| !tags.is_empty());
    chain.extend(tags.map(|tags| quote!(.tags([#(#tags),*]))));
    chain.extend(retry_options(args, krate));
    chain.extend(args.timeout.map(|t| {
        let timeout = duration(t.value);
        quote_spanned!(t.span=> .timeout(#timeout))
    }));
    chain.extend(args.task_runner.as_ref().map(|runner| {
        let factory = task_runner(runner, krate);
        quote!(.task_runner(#factory))
    }));
    for (hook, paths) in &args.hooks {
        let method = Ident::new(hook.method(), Span::call_site());
        chain.extend(paths.iter().map(|path| quote!(.#method(#krate::__private_v1::hook(#path)))));
    }
    let flags = [("log_prints", &args.log_prints), ("skip_on_upstream_skip", &args.skip_on_upstream_skip)];
    for (method, flag) in flags {
        chain.extend(flag.as_ref().map(|flag| {
            let (method, value) = (Ident::new(method, flag.span), syn::LitBool::new(flag.value, flag.span));
            quote!(.#method(#value))
        }));
    }
    chain.extend(results::builder(spec));
    if spec.kind == Kind::Task {
        // Always set, so that a cache key with `task_source` follows edits to the body.
        let hash = source::source_hash(&spec.func.item);
        chain.extend(quote!(.source_hash(#hash)));
    }
    chain
}

fn retry_options(args: &Args, krate: &Path) -> TokenStream {
    let mut chain = TokenStream::new();
    chain.extend(args.retries.map(|r| {
        let n = Literal::u32_suffixed(r.value);
        quote_spanned!(r.span=> .retries(#n))
    }));
    chain.extend(args.retry_delay.as_ref().map(|delay| {
        let delay = retry_delay(delay, krate);
        quote!(.retry_delay(#delay))
    }));
    chain.extend(args.retry_jitter.map(|j| {
        let factor = Literal::f64_suffixed(j.value);
        quote_spanned!(j.span=> .retry_jitter(#factor))
    }));
    chain.extend(args.retry_condition.as_ref().map(|path| quote!(.retry_condition(#path))));
    chain
}

fn retry_delay(delay: &RetryDelay, krate: &Path) -> TokenStream {
    match delay {
        RetryDelay::Fixed(d) => duration(*d),
        RetryDelay::List(list) => {
            let list = list.iter().map(|d| duration(*d));
            quote!(#krate::RetryDelay::List(::std::sync::Arc::from([#(#list),*])))
        }
        RetryDelay::Exponential(d) => {
            let base = duration(*d);
            quote!(#krate::RetryDelay::Exponential(#base))
        }
    }
}

fn task_runner(runner: &TaskRunner, krate: &Path) -> TokenStream {
    match runner {
        TaskRunner::Sequential => quote!(#krate::runner::SequentialTaskRunner::new),
        TaskRunner::Concurrent => quote!(#krate::runner::ConcurrentTaskRunner::new),
        TaskRunner::Factory(path) => quote!(#path),
    }
}

/// A duration as a `const`-friendly constructor call (parsed values fit in `u64` nanos).
pub(crate) fn duration(d: std::time::Duration) -> TokenStream {
    let nanos = Literal::u64_suffixed(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    quote!(::core::time::Duration::from_nanos(#nanos))
}

/// A task is named like its fn; a flow like its fn with `-` for `_` (as in Prefect).
fn default_name(spec: &Spec) -> LitStr {
    let ident = spec.ident();
    let name = ident.unraw().to_string();
    let name = match spec.kind {
        Kind::Task => name,
        Kind::Flow => name.replace('_', "-"),
    };
    LitStr::new(&name, ident.span())
}

/// The fn's doc comment as text (`None` without one): the lines of every
/// `#[doc = ".."]`, each stripped of the one space `///` leaves.
fn doc_comment(attrs: &[syn::Attribute]) -> Option<LitStr> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then(|| LitStr::new(&text, Span::call_site()))
}
