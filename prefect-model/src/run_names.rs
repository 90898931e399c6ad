//! Default flow run names: a random two-word slug, `brave-otter`, as
//! Prefect names flow runs. The engine names runs with it, and so do the
//! scheduler and the CLI for runs they create ahead of time.

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "daring", "eager", "fancy",
    "gentle", "golden", "happy", "hidden", "humble", "jolly", "keen", "lively", "lucky", "mellow", "merry",
    "nimble", "noble", "plucky", "quick", "quiet", "rapid", "shiny", "silver", "smart", "steady", "swift",
    "tidy", "vivid", "witty",
];

const ANIMALS: &[&str] = &[
    "badger", "beaver", "bison", "collie", "crane", "dingo", "falcon", "ferret", "finch", "gecko", "heron",
    "ibis", "jackal", "koala", "lemur", "lynx", "marmot", "mink", "newt", "ocelot", "orca", "otter", "panda",
    "puffin", "quail", "raven", "salmon", "seal", "stork", "tapir", "toucan", "walrus", "wombat", "yak",
    "zebra",
];

/// A random two-word slug, e.g. `brave-otter`.
///
/// ```
/// let name = prefect_model::run_names::flow_run_name();
/// assert_eq!(name.split('-').count(), 2);
/// ```
pub fn flow_run_name() -> String {
    let adjective = ADJECTIVES[fastrand::usize(..ADJECTIVES.len())];
    let animal = ANIMALS[fastrand::usize(..ANIMALS.len())];
    format!("{adjective}-{animal}")
}
