//! Typed settings (in progress).
