//! Glue for the code `#[task]` and `#[flow]` generate, version 1. Not a
//! stable API: nothing here is meant to be used directly.
//!
//! Generated code calls [`task`] and [`flow`] with a named struct of parts
//! ([`TaskParts`], [`FlowParts`]), picks per-type capabilities with one
//! autoref [`Probe`], and runs the program's [`Defaults`] once, when its
//! first descriptor is built. The module's name carries its version, so
//! macros and engine of mismatched versions fail to compile loudly instead
//! of misbehaving.

mod defaults;
mod parts;
mod probe;

pub use std::sync::LazyLock;

pub use serde;
pub use serde_json;

pub use crate::engine::outcome::{Outcome, from_result, from_state, from_states, from_value};
pub use crate::futures::map::{map_call, map_children, map_len};
pub use crate::futures::{Input, MapArg, MapCall, MapItems, TaskInput};
pub use crate::hooks::hook;
pub use crate::results::glue::{CacheSource, Codec, InputSink, InputsFn, no_inputs};
pub use defaults::{DEFAULTS, Defaults, install_defaults};
pub use futures::future::BoxFuture;
pub use parts::{Body, Edges, FlowParts, TaskParts, boxed, flow, parameters, task, template_value};
pub use probe::{
    NoClone, NoCodec, NoSchema, NoSerialize, Probe, ViaClone, ViaCodec, ViaSchema, ViaSerialize,
    object_schema, schema_generator,
};
