//! Validation of the annotated fn's signature and of option combinations.
//!
//! Every rule reports a spanned error on the offending token; all rules run, and the
//! errors are combined so one compile shows them all.

use syn::ext::IdentExt as _;
use syn::{Error, FnArg, Ident, ItemFn, LitStr, Pat, PatIdent, PatType, ReturnType, Signature, Type};

use crate::args::{Args, Kind};
use crate::errors::Errors;
pub(crate) use crate::errors::both;
use crate::results;
use crate::signature::Output;
use crate::template;

/// Characters Prefect does not allow in flow names.
const FORBIDDEN_IN_FLOW_NAMES: [char; 5] = ['/', '%', '&', '>', '<'];

/// Parameter names that would shadow methods of the call value.
const RESERVED_PARAMS: [&str; 2] = ["wait_for", "return_state"];

/// One parameter of the annotated fn: a plain name and an owned type.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
}

impl Param {
    /// The name as users write it in templates and see it in records (`r#type` is `type`).
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }
}

/// The annotated fn, with its signature checked and classified.
#[derive(Debug, Clone)]
pub(crate) struct CheckedFn {
    pub(crate) item: ItemFn,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
}

/// Checks that `item` can be a task or flow: a plain, non-generic fn whose arguments
/// are named and owned, none of them named like a method of the call value.
pub(crate) fn signature(kind: Kind, item: ItemFn) -> syn::Result<CheckedFn> {
    let mut errors = Errors::default();
    qualifiers(kind, &item.sig, &mut errors);
    let params: Vec<Param> = item.sig.inputs.iter().filter_map(|arg| errors.take(param(kind, arg))).collect();
    if let (Kind::Task, Some(clash)) = (kind, params.iter().find(|p| p.ident == item.sig.ident)) {
        let msg = format!(
            "a parameter cannot share the task's name `{}` (the generated `{0}::map` calls `{0}`); rename it",
            clash.name()
        );
        errors.push(Error::new_spanned(&clash.ident, msg));
    }
    if let ReturnType::Type(_, ty) = &item.sig.output
        && let Type::ImplTrait(_) = **ty
    {
        let msg = format!("`impl Trait` return types are not supported by #[{}]; name the type", kind.name());
        errors.push(Error::new_spanned(ty, msg));
    }
    errors.finish()?;
    let output = Output::classify(&item.sig.output);
    Ok(CheckedFn { item, params, output })
}

fn qualifiers(kind: Kind, sig: &Signature, errors: &mut Errors) {
    let attr = kind.name();
    if let Some(token) = &sig.constness {
        errors.push(Error::new_spanned(token, format!("#[{attr}] cannot be applied to a `const fn`")));
    }
    if let Some(token) = &sig.unsafety {
        let msg =
            format!("#[{attr}] cannot be applied to an `unsafe fn`; call the unsafe code from a safe fn");
        errors.push(Error::new_spanned(token, msg));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(abi, format!("#[{attr}] cannot be applied to an `extern` fn")));
    }
    let generics = format!("#[{attr}] does not support generic parameters; use concrete types");
    if !sig.generics.params.is_empty() {
        errors.push(Error::new_spanned(&sig.generics, &generics));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(Error::new_spanned(where_clause, generics));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(Error::new_spanned(variadic, format!("#[{attr}] does not support variadic arguments")));
    }
}

fn param(kind: Kind, arg: &FnArg) -> syn::Result<Param> {
    let attr = kind.name();
    let PatType { pat, ty, .. } = match arg {
        FnArg::Typed(typed) => typed,
        FnArg::Receiver(receiver) => {
            let msg = format!(
                "#[{attr}] cannot take `self`; make it a free fn and pass what it needs as arguments"
            );
            return Err(Error::new_spanned(receiver, msg));
        }
    };
    let (ident, ()) = both(param_name(kind, pat), param_type(kind, ty))?;
    Ok(Param { ident, ty: (**ty).clone() })
}

fn param_name(kind: Kind, pat: &Pat) -> syn::Result<Ident> {
    let Pat::Ident(PatIdent { by_ref: None, subpat: None, ident, .. }) = pat else {
        let msg = format!(
            "{} arguments need a plain name, such as `pair: (u32, u32)`; destructure inside the body",
            kind.name()
        );
        return Err(Error::new_spanned(pat, msg));
    };
    let name = ident.unraw().to_string();
    if RESERVED_PARAMS.contains(&name.as_str()) {
        let msg = format!(
            "`{name}` is reserved by prefect (it is a method of the call value); rename this parameter"
        );
        return Err(Error::new_spanned(ident, msg));
    }
    Ok(ident.clone())
}

fn param_type(kind: Kind, ty: &Type) -> syn::Result<()> {
    match ty {
        Type::Reference(reference) => {
            let msg = format!(
                "{} arguments are passed by value; take an owned type such as {} instead of `{}`",
                kind.name(),
                owned_suggestion(&reference.elem),
                type_text(ty),
            );
            Err(Error::new_spanned(ty, msg))
        }
        Type::ImplTrait(_) => {
            let msg = format!(
                "`impl Trait` arguments are not supported by #[{}]; use a concrete type",
                kind.name()
            );
            Err(Error::new_spanned(ty, msg))
        }
        _ => Ok(()),
    }
}

/// The owned counterpart to suggest for a borrowed type.
fn owned_suggestion(elem: &Type) -> String {
    let text = type_text(elem);
    match text.as_str() {
        "str" => "`String`".to_owned(),
        "Path" | "std::path::Path" => "`PathBuf`".to_owned(),
        _ => match elem {
            Type::Slice(slice) => format!("`Vec<{}>`", type_text(&slice.elem)),
            _ => format!("`{text}`"),
        },
    }
}

/// A type as users write it (`quote` spaces every token apart).
fn type_text(ty: &Type) -> String {
    let text = quote::quote!(#ty).to_string();
    [(" :: ", "::"), (":: ", "::"), (" <", "<"), ("< ", "<"), (" >", ">"), (" ,", ","), ("& ", "&")]
        .iter()
        .fold(text, |text, (from, to)| text.replace(from, to))
}

/// Checks the options that depend on each other or on the signature.
pub(crate) fn combination(kind: Kind, args: &Args, func: &CheckedFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let (Kind::Flow, Some(name)) = (kind, &args.name) {
        errors.take(flow_name(name));
    }
    if let Some(template) = &args.run_name {
        errors.take(run_name(template, func));
    }
    results::check(kind, &args.results, func, &mut errors);
    errors.finish()
}

fn flow_name(name: &LitStr) -> syn::Result<()> {
    let value = name.value();
    match value.chars().find(|c| FORBIDDEN_IN_FLOW_NAMES.contains(c)) {
        Some(c) => {
            let msg = format!(
                "flow name `{value}` contains `{c}`; flow names must not contain `/`, `%`, `&`, `>` or `<`"
            );
            Err(Error::new_spanned(name, msg))
        }
        None => Ok(()),
    }
}

fn run_name(template: &LitStr, func: &CheckedFn) -> syn::Result<()> {
    let names = template::placeholders(&template.value()).map_err(|msg| Error::new_spanned(template, msg))?;
    let params: Vec<String> = func.params.iter().map(Param::name).collect();
    let Some(unknown) = names.iter().find(|name| !params.contains(name)) else {
        return Ok(());
    };
    let known = parameter_list(func);
    Err(Error::new_spanned(template, format!("unknown placeholder `{{{unknown}}}` in the run name; {known}")))
}

/// "the parameters of `f` are: a, b", for errors about a name that is not one of them.
pub(crate) fn parameter_list(func: &CheckedFn) -> String {
    let fn_name = &func.item.sig.ident;
    if func.params.is_empty() {
        return format!("`{fn_name}` has no parameters");
    }
    let params: Vec<String> = func.params.iter().map(Param::name).collect();
    format!("the parameters of `{fn_name}` are: {}", params.join(", "))
}

#[cfg(test)]
mod tests;
