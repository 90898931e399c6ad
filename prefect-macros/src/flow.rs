//! `#[flow]`: a fn whose every call is a recorded flow run.
//!
//! Besides the shared parts, a flow records its parameters: each argument is turned into
//! JSON (through `Serialize` when the type has it, an opaque placeholder otherwise)
//! before the arguments are moved into the run.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, LitStr};

use crate::args::Kind;
use crate::expand::{self, Spec};
use crate::results;

/// Expands `#[flow(args)] item`; on error, the errors plus the unchanged item.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Flow, args, item, generate)
}

fn generate(spec: &Spec) -> TokenStream {
    let companion = expand::companion(spec, TokenStream::new());
    let wrapper = wrapper(spec);
    quote!(#companion #wrapper)
}

/// `fn name(a: A, ..) -> FlowCall<T>`.
fn wrapper(spec: &Spec) -> TokenStream {
    let (krate, ident, idents, types) = (&spec.krate, spec.ident(), spec.idents(), spec.types());
    let output = spec.func.output.ty();
    let suffix = if spec.is_async() { "" } else { "_blocking" };
    let call = Ident::new(&format!("flow_call{suffix}"), Span::call_site());
    let run_name = expand::run_name(spec, |ident| quote!(&#ident));
    let (check, parameters) = (expand::clone_check(spec), parameters(spec));
    let result_checks = results::checks(spec);
    let (cloner, body, codec) = (expand::cloner(spec), expand::body(spec), expand::codec(spec));
    let statements = quote! {
        #check
        #result_checks
        #krate::__private::ensure_default();
        let __prefect_run_name: ::core::option::Option<::std::string::String> = #run_name;
        #parameters
        #cloner
        #krate::__private::#call(
            #ident::flow(),
            __prefect_params,
            (#(#idents,)*),
            __prefect_cloner,
            __prefect_run_name,
            #body,
            #codec,
        )
    };
    expand::wrapper(spec, quote!(#(#idents: #types),*), quote!(#krate::FlowCall<#output>), statements)
}

/// `let __prefect_params = ..;`: the JSON object of the flow's parameters.
fn parameters(spec: &Spec) -> TokenStream {
    let krate = &spec.krate;
    let pairs = spec.func.params.iter().map(|p| {
        let (ident, name) = (&p.ident, LitStr::new(&p.name(), p.ident.span()));
        quote!((#name, (&&#krate::__private::ParamProbe(&#ident)).param_json()))
    });
    quote! {
        #[allow(unused_imports)]
        use #krate::__private::{ViaOpaque as _, ViaSerialize as _};
        let __prefect_params = #krate::__private::parameters(::std::vec![#(#pairs),*]);
    }
}
