//! Syntactic classification of a fn's return type.
//!
//! The macro cannot see types, so it goes by the last path segment, as `?` users expect:
//! `Result<T, E>` (any path, e.g. `io::Result<T>`) fails the run with `E`, `State<T>`
//! and `Vec<State<T>>` end it in the returned state(s), anything else is the value.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, ReturnType, Type};

/// How the body's return value becomes a run outcome.
#[derive(Debug, Clone)]
pub(crate) enum Output {
    /// No return type: the output is `()`.
    Unit,
    /// Any other type: the output is the value itself.
    Value(Type),
    /// `..::Result<T, ..>`: the output is `T`; `Err` fails the run.
    Result(Type),
    /// `State<T>`: the output is `T`.
    State(Type),
    /// `Vec<State<T>>`: the output is `Vec<T>`.
    States(Type),
}

impl Output {
    /// Classifies a fn's return type.
    pub(crate) fn classify(ret: &ReturnType) -> Output {
        match ret {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) => classify_type(ty),
        }
    }

    /// The `T` of the generated `TaskCall<T>` / `FlowCall<T>`.
    pub(crate) fn ty(&self) -> TokenStream {
        match self {
            Output::Unit => quote!(()),
            Output::Value(ty) | Output::Result(ty) | Output::State(ty) => quote!(#ty),
            Output::States(ty) => quote!(::std::vec::Vec<#ty>),
        }
    }

    /// The `__private` function that turns the body's return value into an outcome.
    pub(crate) fn converter(&self) -> &'static str {
        match self {
            Output::Unit | Output::Value(_) => "from_value",
            Output::Result(_) => "from_result",
            Output::State(_) => "from_state",
            Output::States(_) => "from_states",
        }
    }
}

fn classify_type(ty: &Type) -> Output {
    let Some((name, arg)) = last_segment(ty) else {
        return Output::Value(ty.clone());
    };
    match (name.as_str(), arg) {
        ("Result", Some(ok)) => Output::Result(ok.clone()),
        ("State", Some(inner)) => Output::State(inner.clone()),
        ("Vec", Some(inner)) => match last_segment(inner) {
            Some((inner_name, Some(t))) if inner_name == "State" => Output::States(t.clone()),
            _ => Output::Value(ty.clone()),
        },
        _ => Output::Value(ty.clone()),
    }
}

/// The last path segment's name and its first type argument, if `ty` is a path.
fn last_segment(ty: &Type) -> Option<(String, Option<&Type>)> {
    let ty = ungroup(ty);
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    let first_type = match &segment.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    };
    Some((segment.ident.to_string(), first_type))
}

/// Looks through the invisible groups that `macro_rules!` wraps around `$t:ty`.
fn ungroup(mut ty: &Type) -> &Type {
    while let Type::Group(group) = ty {
        ty = &group.elem;
    }
    ty
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(src: &str) -> (String, &'static str) {
        let ret: ReturnType = syn::parse_str(src).unwrap();
        let out = Output::classify(&ret);
        (out.ty().to_string().replace(' ', ""), out.converter())
    }

    #[test]
    fn classifies_by_last_segment() {
        assert_eq!(classify(""), ("()".into(), "from_value"));
        assert_eq!(classify("-> u64"), ("u64".into(), "from_value"));
        assert_eq!(classify("-> Result<String, E>"), ("String".into(), "from_result"));
        assert_eq!(classify("-> std::io::Result<Vec<u8>>"), ("Vec<u8>".into(), "from_result"));
        assert_eq!(classify("-> anyhow::Result<()>"), ("()".into(), "from_result"));
        assert_eq!(classify("-> prefect::State<u8>"), ("u8".into(), "from_state"));
        assert_eq!(classify("-> Vec<State<u8>>"), ("::std::vec::Vec<u8>".into(), "from_states"));
    }

    #[test]
    fn other_types_are_values() {
        assert_eq!(classify("-> Vec<u8>"), ("Vec<u8>".into(), "from_value"));
        assert_eq!(classify("-> std::fmt::Result"), ("std::fmt::Result".into(), "from_value"));
        assert_eq!(classify("-> (u8, u8)"), ("(u8,u8)".into(), "from_value"));
        assert_eq!(classify("-> <T as X>::Result<u8>"), ("<TasX>::Result<u8>".into(), "from_value"));
    }
}
