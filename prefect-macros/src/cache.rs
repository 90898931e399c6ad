//! `cache_key`: which parts of a task call make up its cache key.
//!
//! ```text
//! cache_key = term ( "+" term )*  |  path::to::key_fn
//! term      = "input_hash" [ exclusions ]     (inputs + task_source)
//!           | "inputs" [ exclusions ]
//!           | "task_source" | "flow_parameters" | "run_id"
//!           | "default"                        (inputs + task_source + run_id)
//!           | "none"                           (no caching)
//! exclusions = "(" "exclude" "=" "[" "arg", .. "]" ")"
//! ```
//!
//! Terms become a `CachePolicy` built with its `const` methods; a path written alone is a
//! custom key fn. When the key hashes the inputs, every argument left in must be
//! `Serialize`: the macro emits one bound per argument, spanned on its type, so the error
//! names the argument and how to leave it out.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::spanned::Spanned as _;
use syn::{Error, Ident, LitStr, Path, Token, parenthesized};

use crate::check::{self, CheckedFn};
use crate::errors::Errors;
use crate::spec::Spec;
use crate::value;

mod kw {
    syn::custom_keyword!(exclude);
}

/// A parsed `cache_key`.
#[derive(Debug, Clone)]
pub(crate) enum CacheKey {
    /// Terms joined by `+`.
    Policy(Policy),
    /// The path of a `fn(&TaskRunContext, &CacheInputs) -> Option<String>`.
    Custom(Path),
}

/// The union of a `cache_key`'s terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    inputs: bool,
    /// The arguments left out of the inputs, as written (errors point at them).
    excluded: Vec<LitStr>,
    task_source: bool,
    flow_parameters: bool,
    run_id: bool,
}

/// One term of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    InputHash,
    Inputs,
    TaskSource,
    FlowParameters,
    RunId,
    Default,
    None,
}

/// The terms' names, for suggestions.
const TERMS: [&str; 7] =
    ["input_hash", "inputs", "task_source", "flow_parameters", "run_id", "default", "none"];

impl Term {
    fn from_ident(ident: &Ident) -> Option<Term> {
        let term = match ident.to_string().as_str() {
            "input_hash" => Term::InputHash,
            "inputs" => Term::Inputs,
            "task_source" => Term::TaskSource,
            "flow_parameters" => Term::FlowParameters,
            "run_id" => Term::RunId,
            "default" => Term::Default,
            "none" => Term::None,
            _ => return None,
        };
        Some(term)
    }

    fn policy(self) -> Policy {
        let inputs = matches!(self, Term::InputHash | Term::Inputs | Term::Default);
        Policy {
            inputs,
            excluded: Vec::new(),
            task_source: matches!(self, Term::InputHash | Term::Default | Term::TaskSource),
            flow_parameters: self == Term::FlowParameters,
            run_id: matches!(self, Term::Default | Term::RunId),
        }
    }
}

impl CacheKey {
    /// True for `cache_key = none`, which turns caching off.
    pub(crate) fn is_none(&self) -> bool {
        matches!(self, CacheKey::Policy(policy) if policy.is_none())
    }
}

impl Policy {
    fn is_none(&self) -> bool {
        !(self.inputs || self.task_source || self.flow_parameters || self.run_id)
    }

    fn excludes(&self, name: &str) -> bool {
        self.excluded.iter().any(|e| e.value() == name)
    }

    /// The policy as users would write it, with `extra` also excluded: the fix that a
    /// non-`Serialize` argument's error suggests.
    fn written_excluding(&self, extra: &str) -> String {
        let mut names: Vec<String> = self.excluded.iter().map(LitStr::value).collect();
        names.push(extra.to_owned());
        let names = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
        let inputs = if self.task_source { "input_hash" } else { "inputs" };
        let mut terms = vec![format!("{inputs}(exclude = [{names}])")];
        terms.extend(self.flow_parameters.then(|| "flow_parameters".to_owned()));
        terms.extend(self.run_id.then(|| "run_id".to_owned()));
        terms.join(" + ")
    }
}

/// Parses a `cache_key` value.
pub(crate) fn parse(input: ParseStream) -> syn::Result<CacheKey> {
    let mut written = vec![written_term(input)?];
    while input.peek(Token![+]) {
        input.parse::<Token![+]>()?;
        written.push(written_term(input)?);
    }
    combine(written)
}

/// A term or path as written, with its exclusions.
struct Written {
    path: Path,
    exclude: Option<Vec<LitStr>>,
}

fn written_term(input: ParseStream) -> syn::Result<Written> {
    let path: Path = input.parse().map_err(|e| {
        let msg = "expected a cache key such as `input_hash`, `inputs + run_id` or the path of a key fn";
        Error::new(e.span(), msg)
    })?;
    if !input.peek(syn::token::Paren) {
        return Ok(Written { path, exclude: None });
    }
    if path.get_ident().is_none_or(|i| Term::from_ident(i).is_none()) {
        return Err(call_error(&path));
    }
    let exclude = exclusions(input)?;
    Ok(Written { path, exclude: Some(exclude) })
}

/// A path followed by `(..)`: a misspelled term, or a key fn written as a call.
fn call_error(path: &Path) -> Error {
    let near = path.get_ident().and_then(|ident| {
        let name = ident.to_string();
        prefect_model::text::closest(&name, TERMS, 2)
    });
    let msg = match near {
        Some(term) => format!("unknown cache key term; did you mean `{term}`?"),
        None => format!(
            "`cache_key` takes the key fn itself, without arguments, as in `cache_key = {}`",
            quote!(#path).to_string().replace(' ', "")
        ),
    };
    Error::new_spanned(path, msg)
}

/// Parses `(exclude = ["a", "b"])`.
fn exclusions(input: ParseStream) -> syn::Result<Vec<LitStr>> {
    let content;
    parenthesized!(content in input);
    content
        .parse::<kw::exclude>()
        .map_err(|e| Error::new(e.span(), "expected `exclude = [\"argument\", ..]`"))?;
    content.parse::<Token![=]>()?;
    let names = value::string_list(&content)?;
    if !content.is_empty() {
        return Err(content.error("expected `)` after the exclude list"));
    }
    Ok(names)
}

/// Joins the terms, rejecting the combinations whose meaning would be a surprise.
fn combine(written: Vec<Written>) -> syn::Result<CacheKey> {
    let several = written.len() > 1;
    let mut policy = Policy::default();
    // The term each input set came from, and the terms seen, for the errors.
    let (mut inputs_from, mut seen) = (None::<Ident>, Vec::<Ident>::new());
    let mut errors = Errors::default();
    for Written { path, exclude } in written {
        let Some((ident, term)) = path.get_ident().and_then(|i| Some((i.clone(), Term::from_ident(i)?)))
        else {
            if several {
                let msg = "a custom cache key fn cannot be combined with `+`; compute the whole key in the fn, \
                           or use only input_hash, inputs, task_source, flow_parameters, run_id and default";
                errors.push(Error::new_spanned(&path, msg));
            } else {
                return Ok(CacheKey::Custom(path));
            }
            continue;
        };
        if seen.contains(&ident) {
            errors.push(Error::new_spanned(&ident, format!("`{ident}` is given twice")));
            continue;
        }
        seen.push(ident.clone());
        if term == Term::None && several {
            let msg = "`none` turns caching off and cannot be combined with other terms";
            errors.push(Error::new_spanned(&ident, msg));
            continue;
        }
        let mut part = term.policy();
        if let Some(names) = exclude {
            if !matches!(term, Term::InputHash | Term::Inputs) {
                let msg = format!(
                    "only `inputs` and `input_hash` take `exclude`; write `input_hash(exclude = [..])`{} instead",
                    if term == Term::Default { " + run_id" } else { "" }
                );
                errors.push(Error::new_spanned(&ident, msg));
                continue;
            }
            part.excluded = names;
        }
        if part.inputs {
            // `CachePolicy`'s `+` keeps an exclusion only if every input term has it,
            // which would quietly drop an `exclude`: the inputs are named once instead.
            if let Some(first) = &inputs_from {
                let msg =
                    format!("the inputs are already part of this key through `{first}`; name them once");
                errors.push(Error::new_spanned(&ident, msg));
                continue;
            }
            inputs_from = Some(ident);
        }
        policy = policy.union(part);
    }
    errors.finish()?;
    Ok(CacheKey::Policy(policy))
}

impl Policy {
    /// Both policies' parts; at most one of them has inputs (see [`combine`]).
    fn union(self, other: Policy) -> Policy {
        let mut excluded = self.excluded;
        excluded.extend(other.excluded);
        Policy {
            inputs: self.inputs || other.inputs,
            excluded,
            task_source: self.task_source || other.task_source,
            flow_parameters: self.flow_parameters || other.flow_parameters,
            run_id: self.run_id || other.run_id,
        }
    }
}

/// Every excluded name must be a parameter of the fn.
pub(crate) fn check(key: &CacheKey, func: &CheckedFn) -> syn::Result<()> {
    let CacheKey::Policy(policy) = key else {
        return Ok(());
    };
    let mut errors = Errors::default();
    for name in &policy.excluded {
        if !func.params.iter().any(|p| p.name() == name.value()) {
            let msg = format!("cannot exclude `{}`: {}", name.value(), check::parameter_list(func));
            errors.push(Error::new_spanned(name, msg));
        }
    }
    errors.finish()
}

/// `.cache_policy(..)` or `.cache_key_fn(..)`.
pub(crate) fn builder(key: &CacheKey, krate: &Path) -> TokenStream {
    let policy = match key {
        CacheKey::Custom(path) => {
            // Coercing to the fn pointer type first makes a wrong signature one
            // type error on the path, rather than a bound error inside prefect-core.
            let key = quote_spanned! {path.span()=>
                let __prefect_key_fn: fn(
                    &#krate::context::TaskRunContext,
                    &#krate::results::CacheInputs,
                ) -> ::core::option::Option<::std::string::String> = #path;
            };
            return quote!(.cache_key_fn({ #key __prefect_key_fn }));
        }
        CacheKey::Policy(policy) => policy,
    };
    let ty = quote!(#krate::results::CachePolicy);
    if policy.is_none() {
        return quote!(.cache_policy(#ty::NONE));
    }
    if *policy == Term::Default.policy() {
        return quote!(.cache_policy(#ty::DEFAULT));
    }
    let mut chain = quote!(#ty::none());
    let parts = [
        (policy.inputs, quote!(.and_inputs())),
        (policy.task_source, quote!(.and_task_source())),
        (policy.flow_parameters, quote!(.and_flow_parameters())),
        (policy.run_id, quote!(.and_run_id())),
    ];
    chain.extend(parts.into_iter().filter(|(on, _)| *on).map(|(_, call)| call));
    if !policy.excluded.is_empty() {
        let names = &policy.excluded;
        chain.extend(quote!(.exclude([#(#names),*])));
    }
    quote!(.cache_policy(#chain))
}

/// One `Serialize` bound per argument the key hashes, spanned on the argument's type.
pub(crate) fn input_checks(spec: &Spec) -> TokenStream {
    let Some(given) = &spec.args.results.cache_key else {
        return TokenStream::new();
    };
    let CacheKey::Policy(policy) = &given.value else {
        return TokenStream::new();
    };
    if !policy.inputs {
        return TokenStream::new();
    }
    let serde = {
        let krate = &spec.krate;
        quote!(#krate::__private_v1::serde)
    };
    let option = &given.key;
    let hashed = spec.func.params.iter().enumerate().filter(|(_, p)| !policy.excludes(&p.name()));
    // One trait per argument: `on_unimplemented` messages are fixed per trait, and each
    // message names its argument.
    let checks = hashed.map(|(i, param)| {
        let name = param.name();
        let (bound, probe) =
            (format_ident!("__PrefectHashedInput{i}"), format_ident!("__prefect_hashed_input{i}"));
        let message =
            format!("the argument `{name}` is not `Serialize`, but `{option}` hashes it into the cache key");
        let note = format!(
            "leave it out of the key with `{option} = {}`, or implement `serde::Serialize` for `{{Self}}`",
            policy.written_excluding(&name)
        );
        let ty = &param.ty;
        let call = quote_spanned!(ty.span()=> #probe::<#ty>(););
        quote! {
            #[diagnostic::on_unimplemented(message = #message, label = "not `Serialize`", note = #note)]
            trait #bound {}
            impl<T: #serde::Serialize> #bound for T {}
            fn #probe<T: #bound>() {}
            #call
        }
    });
    quote!({ #(#checks)* })
}

#[cfg(test)]
mod tests;
