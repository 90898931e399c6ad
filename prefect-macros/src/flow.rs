//! `#[flow]`: a fn whose every call is a recorded flow run.
//!
//! Besides the shared parts, a flow records its parameters: each argument is turned into
//! JSON (through `Serialize` when the type has it, an opaque placeholder otherwise)
//! before the arguments are moved into the run.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::LitStr;
use syn::spanned::Spanned as _;

use crate::args::Kind;
use crate::expand;
use crate::results;
use crate::spec::Spec;

/// Expands `#[flow(args)] item`; on error, the errors plus the unchanged item.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(Kind::Flow, args, item, generate)
}

fn generate(spec: &Spec) -> TokenStream {
    let companion = expand::companion(spec, entry(spec));
    let (signature, wrapper, parameters) = (signature(spec), wrapper(spec), parameters_struct(spec));
    quote!(#companion #signature #wrapper #parameters)
}

/// `impl FlowSignature for name`: the flow's typed shape, for flows started by name.
fn signature(spec: &Spec) -> TokenStream {
    let (krate, ident, idents, types) = (&spec.krate, spec.ident(), spec.idents(), spec.types());
    let (output, cfgs) = (spec.func.output.ty(), spec.cfg_attrs());
    let names: Vec<LitStr> =
        spec.func.params.iter().map(|p| LitStr::new(&p.name(), p.ident.span())).collect();
    quote! {
        #(#cfgs)*
        impl #krate::entry::FlowSignature for #ident {
            type Args = (#(#types,)*);
            type Output = #output;
            const PARAMETERS: &'static [&'static str] = &[#(#names),*];

            fn descriptor() -> &'static #krate::Flow {
                #ident::flow()
            }

            fn call((#(#idents,)*): Self::Args) -> #krate::FlowCall<Self::Output> {
                #ident(#(#idents),*)
            }

            fn output_json(value: &Self::Output) -> #krate::__private_v1::serde_json::Value {
                #[allow(unused_imports)]
                use #krate::__private_v1::{NoSerialize as _, ViaSerialize as _};
                (&&#krate::__private_v1::Probe::<#output>::new()).param_json(value)
            }

            fn parameter_schema() -> #krate::__private_v1::serde_json::Value {
                #[allow(unused_imports)]
                use #krate::__private_v1::{NoSchema as _, ViaSchema as _};
                #[allow(unused_mut, unused_variables)]
                let mut generator = #krate::__private_v1::schema_generator();
                #krate::__private_v1::object_schema(::std::vec![
                    #((#names, (&&#krate::__private_v1::Probe::<#types>::new()).schema(&mut generator)),)*
                ])
            }
        }
    }
}

/// `parameters = EtlParams`: a struct of the flow's parameters, by name, that
/// is `Serialize + DeserializeOwned` (a parameter type that is not is a
/// compile error at its field), for `my_flow::deployment(..).parameters(..)`.
fn parameters_struct(spec: &Spec) -> TokenStream {
    let Some(name) = &spec.args.parameters else { return TokenStream::new() };
    let (krate, ident, vis, cfgs) = (&spec.krate, spec.ident(), &spec.func.item.vis, spec.cfg_attrs());
    let serde = format!("{}::__private_v1::serde", quote!(#krate)).replace(' ', "");
    let doc = format!(
        "The parameters of the flow `{ident}`, by name: what its deployments run it with \
         (`{ident}::deployment(\"..\").parameters({name} {{ .. }})`)."
    );
    let fields = spec.func.params.iter().map(|p| {
        let (field, ty) = (&p.ident, &p.ty);
        let doc = format!("The parameter `{}`.", p.name());
        quote_spanned!(ty.span()=> #[doc = #doc] pub #field: #ty)
    });
    quote! {
        #(#cfgs)*
        #[doc = #doc]
        #[derive(#krate::__private_v1::serde::Serialize, #krate::__private_v1::serde::Deserialize)]
        #[serde(crate = #serde)]
        #vis struct #name {
            #(#fields,)*
        }
    }
}

/// `name::entry()`: the flow startable by name with JSON parameters. Its bound is
/// checked where `entry()` is called (the higher-ranked lifetime defers it), so flows
/// whose parameters are not serde types still compile, and say so only if started by
/// name.
fn entry(spec: &Spec) -> TokenStream {
    let (krate, ident, vis) = (&spec.krate, spec.ident(), &spec.func.item.vis);
    let doc = format!(
        "The flow `{ident}` as an entry startable by name with JSON parameters (deployments, \
         workers, `FlowRegistry`). Every parameter must be `Serialize + DeserializeOwned`."
    );
    let bound = quote_spanned!(ident.span()=> for<'__prefect> Self: #krate::entry::Deployable<'__prefect>);
    quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis fn entry() -> #krate::FlowEntry
        where
            #bound
        {
            #krate::FlowEntry::of::<Self>()
        }
    }
}

/// `fn name(a: A, ..) -> FlowCall<T>`.
fn wrapper(spec: &Spec) -> TokenStream {
    let (krate, ident, idents, types) = (&spec.krate, spec.ident(), spec.idents(), spec.types());
    let output = spec.func.output.ty();
    let run_name = expand::run_name(spec, |ident| quote!(&#ident));
    let (check, parameters) = (expand::clone_check(spec), parameters(spec));
    let result_checks = results::checks(spec);
    let (cloner, body, codec) = (expand::cloner(spec), expand::body(spec), expand::codec(spec));
    let cache = expand::static_cache_source(
        spec,
        quote!(#krate::__private_v1::CacheSource::new(#codec, #krate::__private_v1::no_inputs)),
    );
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
            cache: #cache,
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
