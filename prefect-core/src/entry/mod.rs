//! Flows started by name, with JSON parameters: what deployments, workers,
//! the CLI and the server use to run a flow they only know by name.
//!
//! `#[flow]` gives every flow a [`FlowSignature`]; a flow whose parameters
//! are all `Serialize + DeserializeOwned` also gets `my_flow::entry()`, a
//! [`FlowEntry`]. Calling `entry()` on a flow with a parameter that is not a
//! serde type is a compile error at the call, pointing at the parameter.
//! An entry turns a JSON object of parameters into a call of the typed
//! flow: each field is deserialized into its argument before the run
//! starts (a bad one is an [`Error::InvalidParameters`] naming it, and
//! nothing runs), and the run records the parameters as the typed values
//! serialize, losslessly. A [`FlowRegistry`] holds the entries a program
//! knows, by name.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use prefect_core::entry::{FlowEntry, FlowRegistry};
//! use prefect_core::{Flow, FlowCall, flow_call};
//!
//! // What `#[flow] async fn greet(name: String, times: u32) -> String` generates.
//! struct Greet;
//! impl prefect_core::entry::FlowSignature for Greet {
//!     type Args = (String, u32);
//!     type Output = String;
//!     const PARAMETERS: &'static [&'static str] = &["name", "times"];
//!     fn descriptor() -> &'static Flow {
//!         static FLOW: std::sync::LazyLock<Flow> = std::sync::LazyLock::new(|| Flow::new("greet"));
//!         &FLOW
//!     }
//!     fn call((name, times): (String, u32)) -> FlowCall<String> {
//!         let parameters = serde_json::json!({ "name": name, "times": times });
//!         flow_call(Self::descriptor().clone(), parameters, move || {
//!             let text = format!("hello {name} ").repeat(times as usize);
//!             async move { Ok::<_, std::io::Error>(text) }
//!         })
//!     }
//!     fn output_json(value: &String) -> serde_json::Value {
//!         value.as_str().into()
//!     }
//! }
//!
//! let registry = FlowRegistry::new().with(FlowEntry::of::<Greet>());
//! let harness = prefect_core::testing::harness();
//! let call = registry.call("greet", serde_json::json!({ "name": "ada", "times": 2 })).unwrap();
//! let value = harness.run(call).await.unwrap();
//! assert_eq!(value, "hello ada hello ada ");
//!
//! let error = registry.call("greet", serde_json::json!({ "name": "ada", "times": "many" })).unwrap_err();
//! assert!(error.to_string().contains("`times`"), "{error}");
//! # }
//! ```

mod args;
mod call;

use std::collections::BTreeMap;
use std::fmt;

pub use args::NamedArgs;
pub use call::{EntryCall, ExistingRun};

use crate::call::FlowCall;
use crate::error::Error;
use crate::options::Flow;

/// The typed shape of a flow, implemented by `#[flow]` for the flow's
/// same-named struct: its arguments as a tuple, its value, its parameter
/// names, and how to call it.
pub trait FlowSignature: 'static {
    /// The arguments, as a tuple in parameter order.
    type Args: Send + 'static;
    /// The flow's value.
    type Output: Send + 'static;
    /// The parameter names, in order.
    const PARAMETERS: &'static [&'static str];
    /// The flow's descriptor.
    fn descriptor() -> &'static Flow;
    /// A call of the flow with `args`.
    fn call(args: Self::Args) -> FlowCall<Self::Output>;
    /// The value as JSON (`null` when it is not `Serialize`).
    fn output_json(value: &Self::Output) -> serde_json::Value;

    /// The JSON Schema of the parameters: an object with one property per
    /// parameter, described by its type's `schemars::JsonSchema` where it
    /// has one, else as any value. `null` when not generated.
    fn parameter_schema() -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// A flow that can be started from outside: every parameter is a serde type.
///
/// Implemented for every [`FlowSignature`] whose arguments are
/// [`NamedArgs`]; the lifetime only defers the check to the place where an
/// entry is made, so that flows with other parameters still compile.
#[diagnostic::on_unimplemented(
    message = "flow `{Self}` cannot be started from outside: a parameter is not `Serialize + DeserializeOwned`",
    note = "parameters of a flow that is deployed or started by name are sent as JSON; derive serde's traits for them"
)]
pub trait Deployable<'a>: FlowSignature<Args: NamedArgs> {}

impl<F: FlowSignature> Deployable<'_> for F where F::Args: NamedArgs {}

/// A flow startable by name with JSON parameters.
#[derive(Clone, Copy)]
pub struct FlowEntry {
    descriptor: fn() -> &'static Flow,
    parameters: &'static [&'static str],
    schema: fn() -> serde_json::Value,
    start: fn(serde_json::Value) -> Result<EntryCall, Error>,
}

impl FlowEntry {
    /// The entry of the flow `F` (`my_flow::entry()` calls this).
    pub fn of<F: for<'a> Deployable<'a>>() -> FlowEntry {
        FlowEntry {
            descriptor: F::descriptor,
            parameters: F::PARAMETERS,
            schema: F::parameter_schema,
            start: call::start::<F>,
        }
    }

    /// The flow's name.
    pub fn name(&self) -> &'static str {
        let flow: &'static Flow = (self.descriptor)();
        &flow.opts.name
    }

    /// The flow's descriptor.
    pub fn flow(&self) -> &'static Flow {
        (self.descriptor)()
    }

    /// The parameter names, in order.
    pub fn parameters(&self) -> &'static [&'static str] {
        self.parameters
    }

    /// The JSON Schema of its parameters (see
    /// [`FlowSignature::parameter_schema`]).
    pub fn parameter_schema(&self) -> serde_json::Value {
        (self.schema)()
    }

    /// A call of the flow with `parameters`, a JSON object by parameter name
    /// (`null` or `{}` for a flow without parameters).
    ///
    /// # Errors
    /// [`Error::InvalidParameters`] naming the field that is missing, of the
    /// wrong type, or not a parameter of the flow; nothing runs then.
    pub fn call(&self, parameters: serde_json::Value) -> Result<EntryCall, Error> {
        (self.start)(parameters)
    }
}

impl fmt::Debug for FlowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowEntry").field("name", &self.name()).field("parameters", &self.parameters).finish()
    }
}

/// The flows a program can start by name.
#[derive(Debug, Clone, Default)]
pub struct FlowRegistry {
    entries: BTreeMap<&'static str, FlowEntry>,
}

impl FlowRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry with `entry` added.
    pub fn with(mut self, entry: FlowEntry) -> Self {
        self.register(entry);
        self
    }

    /// Adds `entry`; returns the entry it replaces (same flow name), if any.
    pub fn register(&mut self, entry: FlowEntry) -> Option<FlowEntry> {
        self.entries.insert(entry.name(), entry)
    }

    /// The entry of the flow named `name`.
    pub fn get(&self, name: &str) -> Option<&FlowEntry> {
        self.entries.get(name)
    }

    /// Every flow name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }

    /// A call of the flow named `name` with `parameters`.
    ///
    /// # Errors
    /// [`Error::UnknownFlow`] when no such flow is registered, or the
    /// errors of [`FlowEntry::call`].
    pub fn call(&self, name: &str, parameters: serde_json::Value) -> Result<EntryCall, Error> {
        match self.get(name) {
            Some(entry) => entry.call(parameters),
            None => Err(Error::UnknownFlow {
                name: name.to_owned(),
                known: self.names().collect::<Vec<_>>().join(", "),
            }),
        }
    }
}
