//! [`LogLevel`]: how much a logger reports, and the level of a log line,
//! in Prefect's level names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The level of a log line, and the threshold of a logger, named as Prefect
/// names them.
///
/// `tracing` has no level above ERROR: run logs never carry `Critical`, and
/// a threshold of `Critical` reports what ERROR reports.
///
/// ```
/// use prefect_model::LogLevel;
///
/// assert_eq!("warn".parse::<LogLevel>().unwrap(), LogLevel::Warning);
/// assert_eq!(LogLevel::Warning.to_string(), "WARNING");
/// assert!(LogLevel::Error > LogLevel::Info);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// `TRACE`: everything.
    Trace,
    /// `DEBUG`: diagnostic detail.
    Debug,
    /// `INFO`: normal progress, the default threshold.
    #[default]
    Info,
    /// `WARNING` (`WARN` is accepted too): something unexpected that the run survived.
    #[serde(alias = "WARN")]
    Warning,
    /// `ERROR`: a failure.
    Error,
    /// `CRITICAL`.
    Critical,
}

impl LogLevel {
    /// Every level, lowest first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
    ];

    /// The level's name as Prefect spells it, e.g. `"WARNING"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level names [`LogLevel::from_str`] accepts, for error messages.
pub const LEVEL_NAMES: &str = "one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL";

impl FromStr for LogLevel {
    type Err = Error;

    /// Prefect's names in any case, and `WARN`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Ok(LogLevel::Trace),
            "DEBUG" => Ok(LogLevel::Debug),
            "INFO" => Ok(LogLevel::Info),
            "WARNING" | "WARN" => Ok(LogLevel::Warning),
            "ERROR" => Ok(LogLevel::Error),
            "CRITICAL" => Ok(LogLevel::Critical),
            _ => Err(Error::UnknownLogLevel(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for level in LogLevel::ALL {
            assert_eq!(level.as_str().parse::<LogLevel>().unwrap(), level);
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
            assert_eq!(serde_json::from_str::<LogLevel>(&json).unwrap(), level);
        }
        assert_eq!(serde_json::from_str::<LogLevel>("\"WARN\"").unwrap(), LogLevel::Warning);
        assert_eq!(
            "loud".parse::<LogLevel>().unwrap_err().to_string(),
            "invalid log level \"loud\": expected one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL"
        );
    }
}
