//! Retry delays and jitter.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;

/// The most delays a list or exponential backoff may hold (as in Prefect).
pub const MAX_RETRY_DELAYS: usize = 50;

/// How long to wait before each retry.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum RetryDelay {
    /// Retry at once (the state goes straight to Retrying).
    #[default]
    None,
    /// The same delay before every retry.
    Fixed(Duration),
    /// Delay `i` is the `i`-th entry; the last entry repeats.
    List(Arc<[Duration]>),
    /// `base * 2^i` before retry `i` (counting from 0), capped at 50 doublings.
    Exponential(Duration),
}

impl RetryDelay {
    /// A list of delays, used in order; the last repeats.
    ///
    /// # Errors
    /// More than [`MAX_RETRY_DELAYS`] entries, or an empty list.
    pub fn list(delays: impl Into<Vec<Duration>>) -> Result<Self, Error> {
        let delays = delays.into();
        if delays.is_empty() {
            return Err(invalid("the delay list is empty; give at least one delay"));
        }
        if delays.len() > MAX_RETRY_DELAYS {
            return Err(invalid(format!(
                "{} delays given; at most {MAX_RETRY_DELAYS} are allowed",
                delays.len()
            )));
        }
        Ok(RetryDelay::List(delays.into()))
    }

    /// Parses a duration such as `"2s"` or `"1m 30s"` into a fixed delay.
    ///
    /// # Errors
    /// A string humantime cannot read.
    pub fn parse(text: &str) -> Result<Self, Error> {
        humantime::parse_duration(text)
            .map(RetryDelay::Fixed)
            .map_err(|e| invalid(format!("`{text}` is not a duration ({e}); try \"2s\" or \"1m 30s\"")))
    }

    /// The delay before retry number `retry` (0 for the first retry).
    pub fn delay_for(&self, retry: u32) -> Duration {
        match self {
            RetryDelay::None => Duration::ZERO,
            RetryDelay::Fixed(d) => *d,
            RetryDelay::List(list) => {
                let last = list.len().saturating_sub(1);
                list.get((retry as usize).min(last)).copied().unwrap_or_default()
            }
            RetryDelay::Exponential(base) => {
                let doublings = retry.min(MAX_RETRY_DELAYS as u32 - 1);
                base.saturating_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            }
        }
    }
}

impl From<Duration> for RetryDelay {
    fn from(d: Duration) -> Self {
        if d.is_zero() { RetryDelay::None } else { RetryDelay::Fixed(d) }
    }
}

/// Spreads `delay` by up to `factor` either way: the result is drawn
/// uniformly from `[delay * (1 - factor), delay * (1 + factor)]`, clamped at
/// zero, so the mean stays at `delay` and the maximum is `delay * (1 + factor)`.
pub fn jittered(delay: Duration, factor: f64) -> Duration {
    if factor <= 0.0 || delay.is_zero() {
        return delay;
    }
    let spread = (fastrand::f64() * 2.0 - 1.0) * factor;
    delay.mul_f64((1.0 + spread).max(0.0))
}

/// Checks a jitter factor: finite and at least zero.
pub(crate) fn check_jitter(factor: f64) -> Result<(), Error> {
    if factor.is_finite() && factor >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption { option: "retry_jitter", reason: format!("{factor} is not a factor >= 0") })
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidOption { option: "retry_delay", reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_repeats_last() {
        let d = RetryDelay::list(vec![Duration::from_secs(1), Duration::from_secs(10)]).unwrap();
        assert_eq!(d.delay_for(0), Duration::from_secs(1));
        assert_eq!(d.delay_for(1), Duration::from_secs(10));
        assert_eq!(d.delay_for(7), Duration::from_secs(10));
    }

    #[test]
    fn exponential_doubles_and_caps() {
        let d = RetryDelay::Exponential(Duration::from_secs(1));
        assert_eq!(d.delay_for(0), Duration::from_secs(1));
        assert_eq!(d.delay_for(3), Duration::from_secs(8));
        assert_eq!(d.delay_for(200), d.delay_for(49));
    }

    #[test]
    fn too_many_delays_is_an_error() {
        let long = vec![Duration::from_secs(1); 51];
        assert!(RetryDelay::list(long).is_err());
        assert!(RetryDelay::list(Vec::new()).is_err());
    }

    #[test]
    fn jitter_spreads_within_bounds() {
        let base = Duration::from_secs(10);
        let draws: Vec<_> = (0..200).map(|_| jittered(base, 0.5)).collect();
        assert!(draws.iter().all(|d| *d >= Duration::from_secs(5) && *d <= Duration::from_secs(15)));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 100, "jitter must really spread delays");
        assert_eq!(jittered(base, 0.0), base);
        assert!(check_jitter(-0.1).is_err() && check_jitter(f64::NAN).is_err());
    }
}
