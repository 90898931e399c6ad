//! [`Spec`]: a parsed and checked attribute with its fn, what every generation step
//! reads (a leaf module: the generators depend on it, it depends on none of them).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Attribute, Ident, Path};

use crate::args::{Args, Kind};
use crate::check::CheckedFn;

/// A parsed and checked attribute with its fn: everything generation needs.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) kind: Kind,
    pub(crate) args: Args,
    pub(crate) func: CheckedFn,
    /// `::prefect`, or the `crate = ".."` override.
    pub(crate) krate: Path,
}

impl Spec {
    /// The fn's name, shared by the struct and the wrapper.
    pub(crate) fn ident(&self) -> &Ident {
        &self.func.item.sig.ident
    }

    /// `task` or `flow`: the descriptor accessor on the struct and the `__private` call.
    pub(crate) fn accessor(&self) -> Ident {
        Ident::new(self.kind.name(), Span::call_site())
    }

    /// `::prefect::Task` or `::prefect::Flow`.
    pub(crate) fn descriptor_type(&self) -> TokenStream {
        let krate = &self.krate;
        match self.kind {
            Kind::Task => quote!(#krate::Task),
            Kind::Flow => quote!(#krate::Flow),
        }
    }

    /// Whether the body is an `async fn` (else it runs on the blocking pool).
    pub(crate) fn is_async(&self) -> bool {
        self.func.item.sig.asyncness.is_some()
    }

    pub(crate) fn idents(&self) -> Vec<&Ident> {
        self.func.params.iter().map(|p| &p.ident).collect()
    }

    pub(crate) fn types(&self) -> Vec<&syn::Type> {
        self.func.params.iter().map(|p| &p.ty).collect()
    }

    /// `#[cfg]` attributes, which must apply to everything generated.
    pub(crate) fn cfg_attrs(&self) -> Vec<&Attribute> {
        self.func.item.attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
    }

    /// Lint attributes, copied onto `call_direct` (where the body is checked).
    pub(crate) fn lint_attrs(&self) -> impl Iterator<Item = &Attribute> {
        let lints = ["allow", "expect", "warn", "deny", "forbid"];
        self.func.item.attrs.iter().filter(move |a| lints.iter().any(|l| a.path().is_ident(l)))
    }
}
