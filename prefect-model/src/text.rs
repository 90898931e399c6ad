//! "Did you mean" hints: the settings, the CLI and the `#[task]`/`#[flow]`
//! attributes suggest the closest known name for a misspelled one with
//! the same rule.

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
