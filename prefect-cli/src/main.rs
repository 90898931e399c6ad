//! The `prefect` command-line tool: list and inspect recorded runs, read
//! their logs, start and cancel runs of deployments, manage work queues
//! and tag concurrency limits, and prune the run database.
//!
//! Every listing and inspection takes `--json` for scripts. A run is named
//! by its id, a unique prefix of it, its short id (the last 12 hex digits,
//! as listings show) or its name.

mod commands;
mod db;
mod output;
mod progress;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use prefect_model::StateType;

use crate::output::Output;

/// Workflow runs recorded by prefect-rs, from the command line.
#[derive(Debug, Parser)]
#[command(name = "prefect", version, propagate_version = true)]
struct Cli {
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
    /// Deployments registered by serving programs: list, inspect, run, pause.
    #[command(subcommand)]
    Deployment(DeploymentCommand),
    /// Work queues: where deployments send runs and workers take them from.
    #[command(subcommand, name = "work-queue")]
    WorkQueue(WorkQueueCommand),
    /// Workers that claim runs.
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// The HTTP API over the run database.
    #[command(subcommand)]
    Server(ServerCommand),
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

/// `--db`, taken by the commands that read or write the run database.
#[derive(Debug, Args)]
struct Database {
    /// The run database, a path or a URL (default: `$PREFECT_API_DATABASE_URL`,
    /// else `$PREFECT_HOME/prefect.db`, else `~/.prefect/prefect.db`).
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
}

#[derive(Debug, Subcommand)]
enum FlowCommand {
    /// List flows, by name.
    Ls(Database),
}

#[derive(Debug, Subcommand)]
enum FlowRunCommand {
    /// List flow runs, newest first.
    Ls(FlowRunLs),
    /// Show a flow run: states, parameters, task runs.
    Inspect(FlowRunInspect),
    /// Print a run's log lines (a counter on stderr while many are printed).
    Logs(FlowRunLogs),
    /// Cancel a run: at once if it has not started, else its worker stops it.
    Cancel(RunRef),
    /// Run a failed, crashed or cancelled run of a deployment again, with its parameters.
    Retry(RunRef),
    /// Resume a paused run, with an input for a run paused for one.
    Resume {
        #[command(flatten)]
        run: RunRef,
        /// The input, a JSON value (what the paused flow expects).
        #[arg(long, value_name = "JSON", value_parser = parse_json)]
        input: Option<serde_json::Value>,
    },
}

/// A flow run named on the command line.
#[derive(Debug, Args)]
struct RunRef {
    /// The flow run: its short id, name, id or a unique prefix of the id.
    #[arg(value_name = "RUN")]
    id: String,
    #[command(flatten)]
    database: Database,
}

/// A deployment named on the command line.
#[derive(Debug, Args)]
struct DeploymentRef {
    /// `flow/name`, e.g. `etl/daily`.
    name: String,
    #[command(flatten)]
    database: Database,
}

#[derive(Debug, Subcommand)]
enum DeploymentCommand {
    /// List deployments with their queue, status and next run.
    Ls(Database),
    /// Show a deployment: parameters, schedules, next runs.
    Inspect(DeploymentRef),
    /// Start a run of a deployment (a worker of its program runs it).
    Run(DeploymentRun),
    /// Pause a deployment's schedules (its scheduled runs are removed).
    Pause(DeploymentRef),
    /// Resume a deployment's schedules.
    Resume(DeploymentRef),
    /// Delete a deployment and its runs still queued.
    Delete(DeploymentRef),
    /// A deployment's schedules.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// List a deployment's schedules and next runs.
    Ls(DeploymentRef),
    /// Pause a deployment's schedules.
    Pause(DeploymentRef),
    /// Resume a deployment's schedules.
    Resume(DeploymentRef),
}

/// Arguments of `deployment run`.
#[derive(Debug, Args)]
struct DeploymentRun {
    /// `flow/name`, e.g. `etl/daily`.
    name: String,
    /// A parameter, `key=value`; the value is read as JSON when it is JSON
    /// (`months=[1,2]`), else as a string (`name=ada`). Repeat for several.
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", value_parser = commands::deployment::parse_param)]
    params: Vec<(String, serde_json::Value)>,
    /// Parameters as one JSON object (`-p` values win over it).
    #[arg(long, value_name = "JSON", value_parser = parse_json)]
    param_json: Option<serde_json::Value>,
    /// Start after this long, e.g. `10m`.
    #[arg(long, value_parser = parse_age, conflicts_with = "start_at")]
    start_in: Option<Duration>,
    /// Start at this time: RFC 3339, or `YYYY-MM-DD HH:MM` in local time.
    #[arg(long, value_parser = commands::deployment::parse_start_at)]
    start_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Wait for the run to end, printing its states; fail unless it completes.
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    database: Database,
}

/// A work queue named on the command line.
#[derive(Debug, Args)]
struct QueueRef {
    /// The work queue.
    name: String,
    #[command(flatten)]
    database: Database,
}

#[derive(Debug, Subcommand)]
enum WorkQueueCommand {
    /// Create a work queue (or change its priority and limit).
    Create {
        /// The work queue.
        name: String,
        /// Its priority: runs of queues with a lower number are taken first (1 is highest).
        #[arg(long)]
        priority: Option<u32>,
        /// At most this many of its runs at once.
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        database: Database,
    },
    /// List work queues, highest priority first.
    Ls(Database),
    /// Show a work queue, its live workers and why its runs wait.
    Inspect(QueueRef),
    /// Pause a work queue: its runs are not taken.
    Pause(QueueRef),
    /// Resume a work queue.
    Resume(QueueRef),
    /// Limit how many of its runs run at once (`none` removes the limit).
    SetConcurrencyLimit {
        /// The work queue.
        name: String,
        /// The limit, or `none`.
        limit: String,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Serve the JSON API until Ctrl-C or SIGTERM (127.0.0.1:4200 by
    /// default; any other address needs an API key).
    Start(ServerStart),
}

/// Options of `server start`.
#[derive(Debug, Args)]
struct ServerStart {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// The port (0: any free one; the address served is printed).
    #[arg(long, default_value_t = prefect_server::DEFAULT_PORT)]
    port: u16,
    /// A file holding the key clients must send as a bearer token (else
    /// `$PREFECT_SERVER_API_KEY`; none: no key, loopback only).
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    database: Database,
}

#[derive(Debug, Subcommand)]
enum WorkerCommand {
    /// List workers with their last heartbeat and status.
    Ls(Database),
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
    #[command(flatten)]
    database: Database,
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
    #[command(flatten)]
    database: Database,
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
    #[command(flatten)]
    progress: NoProgress,
    #[command(flatten)]
    database: Database,
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
    #[command(flatten)]
    database: Database,
}

#[derive(Debug, Subcommand)]
enum LimitCommand {
    /// Create a limit for a tag, or change it.
    Create {
        /// The tag.
        tag: String,
        /// How many task runs with the tag may run at once.
        limit: u32,
        #[command(flatten)]
        database: Database,
    },
    /// List limits, by tag.
    Ls(Database),
    /// Delete a tag's limit.
    Delete {
        /// The tag.
        tag: String,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Delete runs that ended long ago, with their states and logs (a bar
    /// of runs deleted on stderr).
    Prune {
        /// Delete runs that ended more than this long ago, e.g. `30d`.
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
        #[command(flatten)]
        progress: NoProgress,
        #[command(flatten)]
        database: Database,
    },
}

/// `--no-progress`, taken by the commands that may show progress.
#[derive(Debug, Args)]
struct NoProgress {
    /// Show no progress on stderr. Progress is only ever shown when stderr
    /// is a terminal; `PREFECT_CLI_PROGRESS=false` also turns it off.
    #[arg(long)]
    no_progress: bool,
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

fn parse_json(value: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(value).map_err(|e| format!("not JSON: {e}"))
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
    prefect_store_http::install();
    prefect_store_postgres::register();
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
    use commands::{
        config, control, db as upkeep, deployment, flow, flow_run, limit, logs, profile, task_run, work_queue,
    };
    use prefect_store::WorkQueueUpdate;
    // Only the commands that read or write the database take `--db`;
    // settings commands work without one, even with broken settings.
    let ctx = |database: Database, out| {
        Ok::<_, anyhow::Error>(Ctx { db: db::database_url(database.db.as_deref())?, out })
    };
    match cli.command {
        Command::Config(ConfigCommand::View { show_sources }) => config::view(&mut out, show_sources),
        Command::Config(ConfigCommand::Set { key, value }) => config::set(&mut out, &key, &value),
        Command::Config(ConfigCommand::Unset { key }) => config::unset(&mut out, &key),
        Command::Profile(ProfileCommand::Ls) => profile::ls(&mut out),
        Command::Profile(ProfileCommand::Use { name }) => profile::use_profile(&mut out, &name),
        Command::Profile(ProfileCommand::Create { name }) => profile::create(&mut out, &name),
        Command::Version => commands::version(&mut out),
        Command::Flow(FlowCommand::Ls(database)) => flow::ls(&mut ctx(database, out)?),
        Command::FlowRun(FlowRunCommand::Ls(args)) => {
            let filter = prefect_store::FlowRunFilter::from(&args);
            flow_run::ls(&mut ctx(args.database, out)?, &filter)
        }
        Command::FlowRun(FlowRunCommand::Inspect(args)) => {
            flow_run::inspect(&mut ctx(args.database, out)?, &args.id, args.task_limit)
        }
        Command::FlowRun(FlowRunCommand::Logs(args)) => {
            let progress = progress::enabled(args.progress.no_progress)?;
            logs::run(&mut ctx(args.database, out)?, &args.id, args.follow, progress)
        }
        Command::FlowRun(FlowRunCommand::Cancel(run)) => {
            control::cancel(&mut ctx(run.database, out)?, &run.id)
        }
        Command::FlowRun(FlowRunCommand::Retry(run)) => control::retry(&mut ctx(run.database, out)?, &run.id),
        Command::FlowRun(FlowRunCommand::Resume { run, input }) => {
            control::resume(&mut ctx(run.database, out)?, &run.id, input)
        }
        Command::Deployment(command) => match command {
            DeploymentCommand::Ls(database) => deployment::ls(&mut ctx(database, out)?),
            DeploymentCommand::Inspect(d) => deployment::inspect(&mut ctx(d.database, out)?, &d.name),
            DeploymentCommand::Run(args) => {
                let start = match (args.start_in, args.start_at) {
                    (Some(after), _) => deployment::Start::In(after),
                    (None, Some(at)) => deployment::Start::At(at),
                    (None, None) => deployment::Start::Now,
                };
                let request = deployment::RunRequest {
                    params: args.params,
                    param_json: args.param_json,
                    start,
                    watch: args.watch,
                };
                deployment::run(&mut ctx(args.database, out)?, &args.name, request)
            }
            DeploymentCommand::Pause(d) | DeploymentCommand::Schedule(ScheduleCommand::Pause(d)) => {
                deployment::set_paused(&mut ctx(d.database, out)?, &d.name, true)
            }
            DeploymentCommand::Resume(d) | DeploymentCommand::Schedule(ScheduleCommand::Resume(d)) => {
                deployment::set_paused(&mut ctx(d.database, out)?, &d.name, false)
            }
            DeploymentCommand::Delete(d) => deployment::delete(&mut ctx(d.database, out)?, &d.name),
            DeploymentCommand::Schedule(ScheduleCommand::Ls(d)) => {
                deployment::schedule_ls(&mut ctx(d.database, out)?, &d.name)
            }
        },
        Command::WorkQueue(command) => match command {
            WorkQueueCommand::Create { name, priority, limit, database } => {
                let update =
                    WorkQueueUpdate { priority, concurrency_limit: limit.map(Some), ..Default::default() };
                work_queue::update(&mut ctx(database, out)?, &name, &update, "saved")
            }
            WorkQueueCommand::Ls(database) => work_queue::ls(&mut ctx(database, out)?),
            WorkQueueCommand::Inspect(q) => work_queue::inspect(&mut ctx(q.database, out)?, &q.name),
            WorkQueueCommand::Pause(q) => {
                let update = WorkQueueUpdate { paused: Some(true), ..Default::default() };
                work_queue::update(&mut ctx(q.database, out)?, &q.name, &update, "paused")
            }
            WorkQueueCommand::Resume(q) => {
                let update = WorkQueueUpdate { paused: Some(false), ..Default::default() };
                work_queue::update(&mut ctx(q.database, out)?, &q.name, &update, "resumed")
            }
            WorkQueueCommand::SetConcurrencyLimit { name, limit, database } => {
                let limit =
                    match limit.as_str() {
                        "none" => None,
                        text => Some(text.parse::<u32>().map_err(|_| {
                            anyhow::anyhow!("invalid limit `{text}`: a whole number, or `none`")
                        })?),
                    };
                let update = WorkQueueUpdate { concurrency_limit: Some(limit), ..Default::default() };
                work_queue::update(&mut ctx(database, out)?, &name, &update, "limit saved")
            }
        },
        Command::Server(ServerCommand::Start(args)) => commands::server::start(
            // A server serves the database, even where PREFECT_API_URL
            // points the other commands at a server (this one, say).
            &mut Ctx { db: db::local_database_url(args.database.db.as_deref())?, out },
            args.host,
            args.port,
            args.api_key_file.as_deref(),
        ),
        Command::Worker(WorkerCommand::Ls(database)) => work_queue::workers(&mut ctx(database, out)?),
        Command::TaskRun(TaskRunCommand::Ls(args)) => {
            task_run::ls(&mut ctx(args.database, out)?, args.flow_run.as_deref(), args.state, args.limit)
        }
        Command::ConcurrencyLimit(LimitCommand::Create { tag, limit, database }) => {
            limit::create(&mut ctx(database, out)?, &tag, limit)
        }
        Command::ConcurrencyLimit(LimitCommand::Ls(database)) => limit::ls(&mut ctx(database, out)?),
        Command::ConcurrencyLimit(LimitCommand::Delete { tag, database }) => {
            limit::delete(&mut ctx(database, out)?, &tag)
        }
        Command::Db(DbCommand::Prune { older_than, progress, database }) => {
            let progress = progress::enabled(progress.no_progress)?;
            upkeep::prune(&mut ctx(database, out)?, older_than, progress)
        }
    }
}

impl From<&FlowRunLs> for prefect_store::FlowRunFilter {
    fn from(args: &FlowRunLs) -> Self {
        let mut filter = prefect_store::FlowRunFilter::new().limit(args.limit);
        filter.states = args.state.clone();
        filter.flow_name = args.flow.clone();
        filter.since = args.since.map(commands::ago);
        filter
    }
}
