//! zstd compression, present only with the `zstd` cargo feature.

use std::io;

use crate::error::{BoxError, Error};

/// Why compression or decompression failed.
#[derive(Debug)]
pub(super) enum CodecError {
    /// The crate was built without the `zstd` feature.
    #[cfg_attr(feature = "zstd", allow(dead_code))]
    Disabled,
    /// zstd reported an error (for decompression: the data is not zstd).
    #[cfg_attr(not(feature = "zstd"), allow(dead_code))]
    Failed(io::Error),
}

impl CodecError {
    /// The crate error: `FeatureDisabled`, or `wrap` around the zstd error.
    pub(super) fn into_error(self, wrap: impl FnOnce(BoxError) -> Error) -> Error {
        match self {
            Self::Disabled => Error::FeatureDisabled { what: "zstd compression", feature: "zstd" },
            Self::Failed(e) => wrap(Box::new(e)),
        }
    }
}

#[cfg(feature = "zstd")]
pub(super) fn compress(data: &[u8], level: i32) -> Result<Vec<u8>, CodecError> {
    zstd::encode_all(data, level).map_err(CodecError::Failed)
}

#[cfg(feature = "zstd")]
pub(super) fn decompress(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    zstd::decode_all(data).map_err(CodecError::Failed)
}

#[cfg(not(feature = "zstd"))]
pub(super) fn compress(_data: &[u8], _level: i32) -> Result<Vec<u8>, CodecError> {
    Err(CodecError::Disabled)
}

#[cfg(not(feature = "zstd"))]
pub(super) fn decompress(_data: &[u8]) -> Result<Vec<u8>, CodecError> {
    Err(CodecError::Disabled)
}
