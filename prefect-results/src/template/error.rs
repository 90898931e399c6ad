//! Template errors.

use super::PLACEHOLDERS;
use crate::storage::KeyError;

/// A template that failed to parse, or a run it failed to render for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A placeholder name is not known.
    #[error("unknown placeholder `{{{name}}}` at byte {position}; valid placeholders: {}", PLACEHOLDERS.join(", "))]
    UnknownPlaceholder {
        /// The name between the braces.
        name: String,
        /// Byte offset of its `{`.
        position: usize,
    },
    /// A `{` has no matching `}`.
    #[error("unclosed `{{` at byte {position} (write `{{{{` for a literal brace)")]
    Unclosed {
        /// Byte offset of the `{`.
        position: usize,
    },
    /// A `}` has no matching `{`.
    #[error("unmatched `}}` at byte {position} (write `}}}}` for a literal brace)")]
    Unmatched {
        /// Byte offset of the `}`.
        position: usize,
    },
    /// A format was given to a placeholder that takes none.
    #[error(
        "placeholder `{name}` at byte {position} takes no format (only date and scheduled_start_time do)"
    )]
    FormatNotAllowed {
        /// The placeholder name.
        name: String,
        /// Byte offset of its `{`.
        position: usize,
    },
    /// A date format is not a valid strftime format.
    #[error("invalid strftime format `{format}` at byte {position}")]
    InvalidDateFormat {
        /// The format text.
        format: String,
        /// Byte offset of its placeholder's `{`.
        position: usize,
    },
    /// A parameter path is empty or has characters outside `A-Za-z0-9_-`.
    #[error(
        "invalid parameter path `{path}` at byte {position}: use parameters.<name> with letters, digits, `_` or `-`"
    )]
    InvalidParameter {
        /// The path after `parameters`.
        path: String,
        /// Byte offset of its placeholder's `{`.
        position: usize,
    },
    /// The template can never render a safe relative key.
    #[error("template `{template}` cannot give a safe storage key: {source}")]
    UnsafeTemplate {
        /// The template text.
        template: String,
        /// Why its rendering is rejected.
        #[source]
        source: KeyError,
    },
    /// The context has no value for a placeholder (e.g. `map_index` in an unmapped run).
    #[error("placeholder `{{{placeholder}}}` has no value in this run")]
    MissingValue {
        /// The placeholder name.
        placeholder: &'static str,
    },
    /// A referenced parameter (or a field or index in it) is not set.
    #[error("parameter `{name}` is not set")]
    MissingParameter {
        /// The parameter path, e.g. `config.city`.
        name: String,
    },
    /// A referenced parameter is an object or array.
    #[error("parameter `{name}` is {kind}; index it down to a string, number, boolean or null")]
    UnrenderableParameter {
        /// The parameter path.
        name: String,
        /// "an object" or "an array".
        kind: &'static str,
    },
    /// The rendered key is not a safe relative key (e.g. a parameter held `..`).
    #[error("rendered storage key is unsafe: {0}")]
    UnsafeKey(#[source] KeyError),
}
