//! `#[flow]`: a fn whose every call is a recorded flow run.
//!
//! Besides the shared parts, a flow records its parameters: each argument is turned into
//! JSON (through `Serialize` when the type has it, an opaque placeholder otherwise)
//! before the arguments are moved into the run.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

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
    let run_name = expand::run_name(spec, |ident| quote!(&#ident));
    let (check, parameters) = (expand::clone_check(spec), parameters(spec));
    let result_checks = results::checks(spec);
    let (cloner, body, codec) = (expand::cloner(spec), expand::body(spec), expand::codec(spec));
    let statements = quote! {
        #check
        #result_checks
        let __prefect_run_name: ::core::option::Option<::std::string::String> = #run_name;
        let __prefect_params = #parameters;
        #krate::__private_v1::flow(#krate::__private_v1::FlowParts {
            flow: #ident::flow(),
            parameters: __prefect_params,
            args: (#(#idents,)*),
            cloner: #cloner,
            run_name: __prefect_run_name,
            body: #body,
            codec: #codec,
        })
    };
    expand::wrapper(spec, quote!(#(#idents: #types),*), quote!(#krate::FlowCall<#output>), statements)
}

/// The JSON object of the flow's parameters.
fn parameters(spec: &Spec) -> TokenStream {
    let krate = &spec.krate;
    let pairs = spec.func.params.iter().map(|p| {
        let (ident, ty, name) = (&p.ident, &p.ty, LitStr::new(&p.name(), p.ident.span()));
        quote!((#name, (&&#krate::__private_v1::Probe::<#ty>::new()).param_json(&#ident)))
    });
    quote! {{
        #[allow(unused_imports)]
        use #krate::__private_v1::{NoSerialize as _, ViaSerialize as _};
        #krate::__private_v1::parameters(::std::vec![#(#pairs),*])
    }}
}
