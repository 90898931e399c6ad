//! The `prefect` command-line tool: list and inspect recorded runs, read
//! their logs, manage tag concurrency limits and prune the run database.
//!
//! Every listing and inspection takes `--json` for scripts. A run is named
//! by its id, a unique prefix of it, its short id (the last 12 hex digits,
//! as listings show) or its name.

mod commands;
mod db;
mod output;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use prefect_model::StateType;

use crate::output::Output;

/// Workflow runs recorded by prefect-rs, from the command line.
#[derive(Debug, Parser)]
#[command(name = "prefect", version, propagate_version = true)]
struct Cli {
    /// The run database, a path or a URL (default: `$PREFECT_API_DATABASE_URL`,
    /// else `$PREFECT_HOME/prefect.db`, else `~/.prefect/prefect.db`).
    #[arg(long, global = true, value_name = "PATH|URL")]
    db: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Flows with recorded runs.
    #[command(subcommand)]
    Flow(FlowCommand),
    /// Flow runs: list, inspect, logs.
    #[command(subcommand, name = "flow-run")]
    FlowRun(FlowRunCommand),
    /// Task runs.
    #[command(subcommand, name = "task-run")]
    TaskRun(TaskRunCommand),
    /// Tag concurrency limits.
    #[command(subcommand, name = "concurrency-limit")]
    ConcurrencyLimit(LimitCommand),
    /// Run database upkeep.
    #[command(subcommand)]
    Db(DbCommand),
    /// Settings: view them, or change them in the active profile.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Profiles: named sets of settings.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// The version of this tool and of its database schema.
    Version,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Show every setting's value.
    View {
        /// Also show where each value came from.
        #[arg(long)]
        show_sources: bool,
    },
    /// Set a setting in the active profile, e.g. `PREFECT_LOGGING_LEVEL DEBUG`.
    Set {
        /// `PREFECT_LOGGING_LEVEL` or `logging.level`.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove a setting from the active profile.
    Unset {
        /// `PREFECT_LOGGING_LEVEL` or `logging.level`.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// List profiles; `*` marks the active one.
    Ls,
    /// Make a profile the active one.
    Use {
        /// The profile.
        name: String,
    },
    /// Create an empty profile.
    Create {
        /// The profile: letters, digits, `-` and `_`.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum FlowCommand {
    /// List flows, by name.
    Ls,
}

#[derive(Debug, Subcommand)]
enum FlowRunCommand {
    /// List flow runs, newest first.
    Ls(FlowRunLs),
    /// Show a flow run: states, parameters, task runs.
    Inspect(FlowRunInspect),
    /// Print a run's log lines.
    Logs(FlowRunLogs),
}

/// Filters of `flow-run ls`.
#[derive(Debug, Args)]
struct FlowRunLs {
    /// Only runs in this state type (repeat or comma-separate for several).
    #[arg(long, value_delimiter = ',', value_parser = parse_state)]
    state: Vec<StateType>,
    /// Only runs of this flow.
    #[arg(long)]
    flow: Option<String>,
    /// Only runs created within this long ago, e.g. `12h`, `1d`.
    #[arg(long, value_parser = parse_age)]
    since: Option<Duration>,
    /// At most this many runs.
    #[arg(long, default_value_t = prefect_store::DEFAULT_LIMIT)]
    limit: usize,
}

/// Arguments of `flow-run inspect`.
#[derive(Debug, Args)]
struct FlowRunInspect {
    /// The flow run: its short id (as `flow-run ls` shows), name, id or a
    /// unique prefix of the id.
    #[arg(value_name = "RUN")]
    id: String,
    /// Show at most this many task runs.
    #[arg(long, default_value_t = prefect_store::DEFAULT_LIMIT)]
    task_limit: usize,
}

/// Arguments of `flow-run logs`.
#[derive(Debug, Args)]
struct FlowRunLogs {
    /// The flow run (or else the task run): its short id, name, id or a
    /// unique prefix of the id. A flow run that matches wins over task runs.
    #[arg(value_name = "RUN")]
    id: String,
    /// Keep printing new lines until the run ends (or Ctrl-C).
    #[arg(long, short)]
    follow: bool,
}

#[derive(Debug, Subcommand)]
enum TaskRunCommand {
    /// List task runs in creation order.
    Ls(TaskRunLs),
}

/// Filters of `task-run ls`.
#[derive(Debug, Args)]
struct TaskRunLs {
    /// The flow run they ran in (short id, name, id or prefix); without it, task runs
    /// called outside any flow.
    #[arg(long)]
    flow_run: Option<String>,
    /// Only runs in this state type (repeat or comma-separate for several).
    #[arg(long, value_delimiter = ',', value_parser = parse_state)]
    state: Vec<StateType>,
    /// At most this many runs.
    #[arg(long, default_value_t = prefect_store::DEFAULT_LIMIT)]
    limit: usize,
}

#[derive(Debug, Subcommand)]
enum LimitCommand {
    /// Create a limit for a tag, or change it.
    Create {
        /// The tag.
        tag: String,
        /// How many task runs with the tag may run at once.
        limit: u32,
    },
    /// List limits, by tag.
    Ls,
    /// Delete a tag's limit.
    Delete {
        /// The tag.
        tag: String,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Delete runs that ended long ago, with their states and logs.
    Prune {
        /// Delete runs that ended more than this long ago, e.g. `30d`.
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
    },
}

/// The longest age a duration flag takes, in years of 365.25 days (the
/// `y` of `30y`): far beyond any recorded run, and well inside what times
/// can represent.
const MAX_AGE_YEARS: u64 = 10_000;

/// A duration flag: `30d`, `12h`, `1y 6M`, at most [`MAX_AGE_YEARS`].
fn parse_age(value: &str) -> Result<Duration, String> {
    let age = humantime::parse_duration(value).map_err(|e| e.to_string())?;
    if age.as_secs() > MAX_AGE_YEARS * 31_557_600 {
        return Err(format!("too long: at most {MAX_AGE_YEARS} years"));
    }
    Ok(age)
}

fn parse_state(value: &str) -> Result<StateType, String> {
    value.parse().map_err(|e: prefect_model::Error| e.to_string())
}

/// What every command gets: the database path and the output.
pub(crate) struct Ctx {
    /// The run database.
    pub(crate) db: prefect_store::StoreUrl,
    /// Where to print.
    pub(crate) out: Output,
}

fn main() -> ExitCode {
    prefect_store_sqlite::register();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A closed stdout (`prefect flow-run ls | head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut out = Output::stdout(cli.json);
    use commands::{config, profile};
    // Settings commands work without a database, even with broken settings.
    match cli.command {
        Command::Config(ConfigCommand::View { show_sources }) => config::view(&mut out, show_sources),
        Command::Config(ConfigCommand::Set { key, value }) => config::set(&mut out, &key, &value),
        Command::Config(ConfigCommand::Unset { key }) => config::unset(&mut out, &key),
        Command::Profile(ProfileCommand::Ls) => profile::ls(&mut out),
        Command::Profile(ProfileCommand::Use { name }) => profile::use_profile(&mut out, &name),
        Command::Profile(ProfileCommand::Create { name }) => profile::create(&mut out, &name),
        command => run_on_database(Ctx { db: db::database_url(cli.db.as_deref())?, out }, command),
    }
}

fn run_on_database(mut ctx: Ctx, command: Command) -> anyhow::Result<()> {
    use commands::{db as upkeep, flow, flow_run, limit, logs, task_run};
    match command {
        Command::Flow(FlowCommand::Ls) => flow::ls(&mut ctx),
        Command::FlowRun(FlowRunCommand::Ls(args)) => flow_run::ls(&mut ctx, &args.into()),
        Command::FlowRun(FlowRunCommand::Inspect(args)) => {
            flow_run::inspect(&mut ctx, &args.id, args.task_limit)
        }
        Command::FlowRun(FlowRunCommand::Logs(args)) => logs::run(&mut ctx, &args.id, args.follow),
        Command::TaskRun(TaskRunCommand::Ls(args)) => {
            task_run::ls(&mut ctx, args.flow_run.as_deref(), args.state, args.limit)
        }
        Command::ConcurrencyLimit(LimitCommand::Create { tag, limit }) => {
            limit::create(&mut ctx, &tag, limit)
        }
        Command::ConcurrencyLimit(LimitCommand::Ls) => limit::ls(&mut ctx),
        Command::ConcurrencyLimit(LimitCommand::Delete { tag }) => limit::delete(&mut ctx, &tag),
        Command::Db(DbCommand::Prune { older_than }) => upkeep::prune(&mut ctx, older_than),
        Command::Version => commands::version(&mut ctx),
        Command::Config(_) | Command::Profile(_) => {
            anyhow::bail!("settings commands do not open the run database")
        }
    }
}

impl From<FlowRunLs> for prefect_store::FlowRunFilter {
    fn from(args: FlowRunLs) -> Self {
        let mut filter = prefect_store::FlowRunFilter::new().limit(args.limit);
        filter.states = args.state;
        filter.flow_name = args.flow;
        filter.since = args.since.map(commands::ago);
        filter
    }
}
