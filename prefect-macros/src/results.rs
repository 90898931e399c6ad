//! The result options: `persist_result`, `result_storage`, `result_serializer` and
//! `result_storage_key` (tasks and flows), and the task-only cache options `cache_key`,
//! `cache_expiration`, `refresh_cache` and `target`.
//!
//! They are read into [`ResultArgs`], checked against each other and the fn, and emitted
//! as builder calls. An option that makes the engine store the return value also emits a
//! bound check on the return type, so a type that cannot be stored is a compile error on
//! that option instead of a run that is silently never cached.

use std::str::FromStr as _;
use std::time::Duration;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::ParseStream;
use syn::spanned::Spanned as _;
use syn::{Error, Ident, LitStr, Path};

use crate::args::Kind;
use crate::cache::{self, CacheKey};
use crate::check::CheckedFn;
use crate::descriptor;
use crate::errors::Errors;
use crate::expand;
use crate::spec::Spec;
use crate::storage_key;
use crate::value::{self, Spanned};

/// One result option; `args` maps each option name onto one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultKey {
    PersistResult,
    ResultStorage,
    ResultSerializer,
    ResultStorageKey,
    CacheKey,
    CacheExpiration,
    RefreshCache,
    Target,
}

/// An option's value with the option's name as written: bound checks and conflicts
/// point at the name, the one token that says which option asked for what.
#[derive(Debug, Clone)]
pub(crate) struct Given<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

impl<T> Given<T> {
    fn new(key: &Ident, value: T) -> Self {
        Given { key: key.clone(), value }
    }
}

/// Where values are stored.
#[derive(Debug, Clone)]
pub(crate) enum Storage {
    /// `result_storage = "dir"`: local files under that directory.
    Local(LitStr),
    /// `result_storage = path::to_fn`: a fn returning a `ResultStorage`.
    Factory(Path),
}

/// A serializer name, checked with the engine's own parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    postcard: bool,
    compressed: bool,
}

/// The result options of one attribute. `None` means "not given".
#[derive(Debug, Default)]
pub(crate) struct ResultArgs {
    pub(crate) persist_result: Option<Given<Spanned<bool>>>,
    pub(crate) storage: Option<Given<Storage>>,
    pub(crate) serializer: Option<Given<Spanned<Encoding>>>,
    pub(crate) storage_key: Option<Given<LitStr>>,
    pub(crate) cache_key: Option<Given<CacheKey>>,
    pub(crate) cache_expiration: Option<Given<Spanned<Duration>>>,
    pub(crate) refresh_cache: Option<Given<Spanned<bool>>>,
    pub(crate) target: Option<Given<LitStr>>,
    /// The first option given that makes the engine store the return value.
    pub(crate) first_storing: Option<Ident>,
    /// The first option given that only makes sense with a cache, and so contradicts
    /// `persist_result = false`.
    first_caching: Option<Ident>,
}

/// The names `result_serializer` lists when it does not know one.
const SERIALIZERS: &str = "json, postcard, zstd+json, zstd+postcard \
     (and Prefect's names binary, compressed/json, compressed/binary)";

impl ResultArgs {
    /// Reads the value of the option `key`, written as `ident`.
    pub(crate) fn parse(&mut self, key: ResultKey, ident: Ident, input: ParseStream) -> syn::Result<()> {
        // Which options store the value follows the engine (`implies_persistence`), so
        // that the bound is asked for exactly when the engine would need it.
        let (stores, caches) = match key {
            ResultKey::PersistResult => {
                let flag = value::boolean(input, "persist_result")?;
                self.persist_result = Some(Given::new(&ident, flag));
                (flag.value, false)
            }
            ResultKey::ResultStorage => {
                self.storage = Some(Given::new(&ident, storage(input)?));
                (true, false)
            }
            ResultKey::ResultSerializer => {
                self.serializer = Some(Given::new(&ident, serializer(input)?));
                (true, false)
            }
            ResultKey::ResultStorageKey => {
                self.storage_key = Some(Given::new(&ident, storage_key::parse(input, "result_storage_key")?));
                (true, false)
            }
            ResultKey::CacheKey => {
                let cache_key = cache::parse(input)?;
                let caches = !cache_key.is_none();
                self.cache_key = Some(Given::new(&ident, cache_key));
                (caches, caches)
            }
            ResultKey::CacheExpiration => {
                self.cache_expiration =
                    Some(Given::new(&ident, value::positive_duration(input, "cache_expiration")?));
                (true, true)
            }
            ResultKey::RefreshCache => {
                let flag = value::boolean(input, "refresh_cache")?;
                self.refresh_cache = Some(Given::new(&ident, flag));
                (flag.value, flag.value)
            }
            ResultKey::Target => {
                self.target = Some(Given::new(&ident, storage_key::parse(input, "target")?));
                (true, true)
            }
        };
        if stores && self.first_storing.is_none() {
            self.first_storing = Some(ident.clone());
        }
        if caches && self.first_caching.is_none() {
            self.first_caching = Some(ident);
        }
        Ok(())
    }
}

/// Parses `"dir"` or the path of a fn returning a storage.
fn storage(input: ParseStream) -> syn::Result<Storage> {
    if input.peek(LitStr) {
        let dir: LitStr = input.parse()?;
        if dir.value().is_empty() {
            return Err(Error::new_spanned(
                dir,
                "result_storage directory is empty; give a path such as \"results\"",
            ));
        }
        return Ok(Storage::Local(dir));
    }
    let path: Path = input.parse().map_err(|e| {
        let msg = "expected a directory such as \"results\" or the path of a fn returning a result storage";
        Error::new(e.span(), msg)
    })?;
    if input.peek(syn::token::Paren) {
        let msg = format!(
            "give the fn itself, not a call: `result_storage = {}`",
            quote!(#path).to_string().replace(' ', "")
        );
        return Err(Error::new(input.span(), msg));
    }
    Ok(Storage::Factory(path))
}

/// Parses a serializer name such as `"json"` or `"zstd+postcard"`.
fn serializer(input: ParseStream) -> syn::Result<Spanned<Encoding>> {
    let lit: LitStr = input.parse().map_err(|e| {
        Error::new(
            e.span(),
            format!("expected a serializer name as a string; valid serializers are: {SERIALIZERS}"),
        )
    })?;
    let name = lit.value();
    let unknown = || {
        let msg = format!("unknown result serializer `{name}`; valid serializers are: {SERIALIZERS}");
        Error::new_spanned(&lit, msg)
    };
    let parsed = prefect_results::Serializer::from_str(&name).map_err(|_| unknown())?;
    // `Format` and `Compression` are non-exhaustive: a kind added there needs a constant
    // here before the macro can name it, so until then it is reported, not guessed.
    let postcard = match parsed.format() {
        prefect_results::Format::Json => false,
        prefect_results::Format::Postcard => true,
        _ => return Err(unknown()),
    };
    let compressed = match parsed.compression() {
        prefect_results::Compression::None => false,
        prefect_results::Compression::Zstd { .. } => true,
        _ => return Err(unknown()),
    };
    Ok(Spanned { value: Encoding { postcard, compressed }, span: lit.span() })
}

/// Checks the result options against the fn and each other.
pub(crate) fn check(kind: Kind, args: &ResultArgs, func: &CheckedFn, errors: &mut Errors) {
    for template in [&args.storage_key, &args.target].into_iter().flatten() {
        errors.take(storage_key::check(kind, template, func));
    }
    if let Some(cache_key) = &args.cache_key {
        errors.take(cache::check(&cache_key.value, func));
    }
    if let (Some(persist), Some(caching)) = (&args.persist_result, &args.first_caching)
        && !persist.value.value
    {
        let msg = format!(
            "`persist_result = false` turns off the stored records that `{caching}` needs; drop one of them"
        );
        errors.push(Error::new(persist.key.span(), msg));
    }
}

/// The builder calls of the result options, in the order the options are documented.
pub(crate) fn builder(spec: &Spec) -> TokenStream {
    let (args, krate) = (&spec.args.results, &spec.krate);
    let results = quote!(#krate::results);
    let mut chain = TokenStream::new();
    chain.extend(args.persist_result.as_ref().map(|p| flag("persist_result", &p.value)));
    chain.extend(args.storage.as_ref().map(|s| match &s.value {
        Storage::Local(dir) => {
            quote_spanned!(dir.span()=> .result_storage(#results::LocalStorage::new(#dir)))
        }
        Storage::Factory(path) => quote_spanned!(path.span()=> .result_storage(#path())),
    }));
    chain.extend(args.serializer.as_ref().map(|s| {
        let Spanned { value: Encoding { postcard, compressed }, span } = s.value;
        let constant = if postcard { quote!(POSTCARD) } else { quote!(JSON) };
        let compressed = compressed.then(|| quote!(.compressed()));
        quote_spanned!(span=> .result_serializer(#results::Serializer::#constant #compressed))
    }));
    chain.extend(args.storage_key.as_ref().map(|t| {
        let template = &t.value;
        quote!(.result_storage_key(#template))
    }));
    chain.extend(args.cache_key.as_ref().map(|c| cache::builder(&c.value, krate)));
    chain.extend(args.cache_expiration.as_ref().map(|e| {
        let ttl = descriptor::duration(e.value.value);
        quote_spanned!(e.value.span=> .cache_expiration(#ttl))
    }));
    chain.extend(args.refresh_cache.as_ref().map(|r| flag("refresh_cache", &r.value)));
    chain.extend(args.target.as_ref().map(|t| {
        let template = &t.value;
        quote!(.target(#template))
    }));
    chain
}

/// `.method(true)` or `.method(false)`.
fn flag(method: &str, value: &Spanned<bool>) -> TokenStream {
    let method = Ident::new(method, value.span);
    let value = syn::LitBool::new(value.value, value.span);
    quote!(.#method(#value))
}

/// The compile-time bounds the options ask for: a storable return type, and (for
/// `cache_key`s that hash the inputs) serializable arguments.
pub(crate) fn checks(spec: &Spec) -> TokenStream {
    let mut checks = output_check(spec);
    checks.extend(cache::input_checks(spec));
    checks
}

/// With an option that stores the value, the return type must round-trip through serde.
/// The checks are spanned on the first such option, whose name the messages give.
///
/// `Serialize` and `DeserializeOwned` are two bounds with two messages: rustc reports
/// each unmet bound of a check separately, and one message for both would then show
/// twice for a type that has neither.
fn output_check(spec: &Spec) -> TokenStream {
    let Some(option) = &spec.args.results.first_storing else {
        return TokenStream::new();
    };
    let (krate, kind) = (&spec.krate, spec.kind.name());
    let serde = quote!(#krate::__private_v1::serde);
    let note = format!(
        "derive `serde::Serialize` and `serde::Deserialize` for `{{Self}}`, return a type that has \
         them, or drop `{option}`"
    );
    let store_message = format!(
        "`{{Self}}` cannot be persisted: `{option}` stores the return value, which must implement `Serialize`"
    );
    let store_label = format!("`{option}` stores this {kind}'s return value");
    let load_message = format!(
        "`{{Self}}` cannot be persisted: `{option}` reads stored return values back, which must \
         implement `DeserializeOwned`"
    );
    let load_label = format!("`{option}` reads this {kind}'s return value back");
    // The type is respanned onto the option so that the errors point there, not at the
    // return type: the option is what asked for the bound.
    let output = expand::respan(spec.func.output.ty(), option.span());
    let calls = quote_spanned! {option.span()=>
        __prefect_stored_output::<#output>();
        __prefect_loaded_output::<#output>();
    };
    quote! {
        {
            #[diagnostic::on_unimplemented(message = #store_message, label = #store_label, note = #note)]
            trait __PrefectStoredOutput {}
            impl<T: #serde::Serialize> __PrefectStoredOutput for T {}
            fn __prefect_stored_output<T: __PrefectStoredOutput>() {}
            #[diagnostic::on_unimplemented(message = #load_message, label = #load_label, note = #note)]
            trait __PrefectLoadedOutput {}
            impl<T: #serde::de::DeserializeOwned> __PrefectLoadedOutput for T {}
            fn __prefect_loaded_output<T: __PrefectLoadedOutput>() {}
            #calls
        }
    }
}
