//! Run id prefixes, as typed on a command line: `0193ab`, `0193AB-44`.

use uuid::Uuid;

use crate::error::{Error, Result};

/// A hex prefix of a run id, turned into the range of ids it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdPrefix {
    /// The smallest id with this prefix.
    pub low: Uuid,
    /// The largest id with this prefix.
    pub high: Uuid,
}

impl IdPrefix {
    /// Parses a prefix: hex digits in either case, dashes ignored, 1 to 32
    /// digits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty prefix, a non-hex character or
    /// more than 32 digits.
    ///
    /// # Examples
    /// ```
    /// use prefect_store::IdPrefix;
    ///
    /// let range = IdPrefix::parse("0193AB-4").unwrap();
    /// assert_eq!(range.low.to_string(), "0193ab40-0000-0000-0000-000000000000");
    /// assert_eq!(range.high.to_string(), "0193ab4f-ffff-ffff-ffff-ffffffffffff");
    /// assert!(IdPrefix::parse("xyz").is_err());
    /// ```
    pub fn parse(prefix: &str) -> Result<IdPrefix> {
        let digits: String = prefix.chars().filter(|c| *c != '-').collect();
        let invalid = |reason: &str| Error::InvalidArgument {
            what: "run id prefix",
            reason: format!("`{prefix}` {reason}"),
        };
        if digits.is_empty() {
            return Err(invalid("is empty; give the first hex digits of a run id"));
        }
        if digits.len() > 32 {
            return Err(invalid("is longer than a run id (32 hex digits)"));
        }
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid("is not hexadecimal; run ids look like 0193ab4f-…"));
        }
        let pad = |fill: char| {
            let mut full = digits.to_ascii_lowercase();
            full.extend(std::iter::repeat_n(fill, 32 - digits.len()));
            Uuid::parse_str(&full).map_err(|e| invalid(&e.to_string()))
        };
        Ok(IdPrefix { low: pad('0')?, high: pad('f')? })
    }

    /// Whether `id` starts with this prefix.
    pub fn matches(&self, id: Uuid) -> bool {
        self.low <= id && id <= self.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_id_is_its_own_range() {
        let id = Uuid::now_v7();
        let range = IdPrefix::parse(&id.to_string()).unwrap();
        assert_eq!(range.low, id);
        assert_eq!(range.high, id);
        assert!(range.matches(id));
    }

    #[test]
    fn rejects_bad_prefixes() {
        assert!(IdPrefix::parse("").is_err());
        assert!(IdPrefix::parse("--").is_err());
        assert!(IdPrefix::parse("g1").is_err());
        assert!(IdPrefix::parse(&"a".repeat(33)).is_err());
    }
}
