//! Text rules shared by crates that must agree: "did you mean" hints (the
//! settings, the CLI and the `#[task]`/`#[flow]` attributes suggest the
//! closest known name for a misspelled one with the same rule), and how a
//! recurrence rule is completed (`rrule!` checks at compile time exactly
//! what prefect-deploy reads at run time).

/// Levenshtein distance between `a` and `b`, counted in chars.
///
/// ```
/// assert_eq!(prefect_model::text::edit_distance("retires", "retries"), 2);
/// ```
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (prev + cost).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The candidate closest to `name` (ignoring ASCII case) within
/// `max_distance` edits, the first of equally close ones.
///
/// ```
/// use prefect_model::text::closest;
///
/// let options = ["retries", "retry_delay", "timeout"];
/// assert_eq!(closest("retires", options, 2), Some("retries"));
/// assert_eq!(closest("colour", options, 2), None);
/// ```
pub fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max_distance: usize,
) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&name, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= max_distance)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A recurrence rule (RFC 5545) as the rrule crate reads it: given alone
/// (`FREQ=DAILY`, or `RRULE:FREQ=DAILY`), it gets a `DTSTART` in `zone` at
/// the start of 2020; text that has its own `DTSTART` is kept as it is.
///
/// ```
/// use prefect_model::text::rrule_with_start;
///
/// assert_eq!(rrule_with_start(" FREQ=DAILY ", "UTC"), "DTSTART;TZID=UTC:20200101T000000\nRRULE:FREQ=DAILY");
/// assert_eq!(rrule_with_start("rrule:FREQ=DAILY", "Europe/Berlin"), "DTSTART;TZID=Europe/Berlin:20200101T000000\nrrule:FREQ=DAILY");
/// let own = "DTSTART:20260101T060000Z\nRRULE:FREQ=WEEKLY";
/// assert_eq!(rrule_with_start(own, "UTC"), own);
/// ```
pub fn rrule_with_start(rule: &str, zone: &str) -> String {
    let text = rule.trim();
    let upper = text.to_ascii_uppercase();
    if upper.contains("DTSTART") {
        return text.to_owned();
    }
    let rule = if upper.starts_with("RRULE:") { text.to_owned() } else { format!("RRULE:{text}") };
    format!("DTSTART;TZID={zone}:20200101T000000\n{rule}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_count_chars() {
        assert_eq!(edit_distance("retires", "retries"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("größe", "grösse"), 2);
        assert_eq!(closest("TAG", ["tags", "timeout"], 2), Some("tags"));
    }
}
