//! [`QueueCall`]: the [`RunQueue`] calls as data, so that a client of a
//! server (`prefect-store-http`) can make them and the server can answer
//! them with one definition of each call (`POST /api/queue`).

use chrono::{DateTime, Utc};
use prefect_model::{FlowRunId, StateMeta, StateType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(doc)]
use crate::capability::RunQueue;
use crate::capability::Store;
use crate::error::{Error, Result};
use crate::lease::LeaseId;
use crate::queue::{ClaimRequest, DeploymentId, DeploymentSpec, NewFlowRun, WorkQueueUpdate, WorkerBeat};

/// A [`RunQueue`] call: each variant is the method of the same name, with
/// its arguments owned. [`QueueCall::apply`] makes it on a store and
/// answers the method's result as JSON.
///
/// ```
/// use prefect_store::wire::QueueCall;
///
/// let call = QueueCall::MarkLateRuns { due_before: chrono::Utc::now() };
/// let text = serde_json::to_string(&call).unwrap();
/// assert!(text.starts_with(r#"{"call":"mark_late_runs""#));
/// assert!(matches!(serde_json::from_str(&text).unwrap(), QueueCall::MarkLateRuns { .. }));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // each field is the argument of the same name
pub enum QueueCall {
    /// [`RunQueue::upsert_deployment`].
    UpsertDeployment { spec: DeploymentSpec },
    /// [`RunQueue::delete_deployment`].
    DeleteDeployment { full_name: String },
    /// [`RunQueue::create_flow_runs`].
    CreateFlowRuns { runs: Vec<NewFlowRun> },
    /// [`RunQueue::queued_runs`].
    QueuedRuns { deployment: Option<DeploymentId>, due_before: Option<DateTime<Utc>>, limit: usize },
    /// [`RunQueue::claim_flow_runs`].
    ClaimFlowRuns(Claim),
    /// [`RunQueue::next_due`].
    NextDue(Claim),
    /// [`RunQueue::set_flow_run_state`].
    SetFlowRunState { run: FlowRunId, state: StateMeta, expected: Vec<StateType> },
    /// [`RunQueue::latest_expected_start`].
    LatestExpectedStart { deployment: DeploymentId },
    /// [`RunQueue::resume_flow_run`].
    ResumeFlowRun { run: FlowRunId, input: Option<Value> },
    /// [`RunQueue::take_resume_input`].
    TakeResumeInput { run: FlowRunId },
    /// [`RunQueue::crashed_runs`].
    CrashedRuns { ended_after: DateTime<Utc> },
    /// [`RunQueue::mark_late_runs`].
    MarkLateRuns { due_before: DateTime<Utc> },
    /// [`RunQueue::cancelling_runs`].
    CancellingRuns { lease: LeaseId },
    /// [`RunQueue::update_work_queue`].
    UpdateWorkQueue { name: String, update: WorkQueueUpdate },
    /// [`RunQueue::worker_heartbeat`].
    WorkerHeartbeat { beat: WorkerBeat },
}

/// A [`ClaimRequest`], owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // the fields of ClaimRequest
pub struct Claim {
    pub queues: Vec<String>,
    pub flows: Vec<String>,
    pub labels: Vec<String>,
    pub now: DateTime<Utc>,
    pub limit: usize,
    pub lease: LeaseId,
}

impl Claim {
    /// `request`, owned.
    pub fn of(request: &ClaimRequest<'_>) -> Claim {
        Claim {
            queues: request.queues.to_vec(),
            flows: request.flows.to_vec(),
            labels: request.labels.to_vec(),
            now: request.now,
            limit: request.limit,
            lease: request.lease,
        }
    }

    /// The request it holds.
    pub fn request(&self) -> ClaimRequest<'_> {
        ClaimRequest {
            queues: &self.queues,
            flows: &self.flows,
            labels: &self.labels,
            now: self.now,
            limit: self.limit,
            lease: self.lease,
        }
    }
}

impl QueueCall {
    /// Makes the call on `store`; its result as JSON.
    ///
    /// # Errors
    /// The method's error.
    pub async fn apply(self, store: &dyn Store) -> Result<Value> {
        fn json(value: impl Serialize) -> Result<Value> {
            serde_json::to_value(value).map_err(|e| Error::InvalidArgument {
                what: "store answer",
                reason: format!("it does not serialize: {e}"),
            })
        }
        match self {
            QueueCall::UpsertDeployment { spec } => json(store.upsert_deployment(&spec).await?),
            QueueCall::DeleteDeployment { full_name } => json(store.delete_deployment(&full_name).await?),
            QueueCall::CreateFlowRuns { runs } => json(store.create_flow_runs(&runs).await?),
            QueueCall::QueuedRuns { deployment, due_before, limit } => {
                json(store.queued_runs(deployment, due_before, limit).await?)
            }
            QueueCall::ClaimFlowRuns(claim) => json(store.claim_flow_runs(claim.request()).await?),
            QueueCall::NextDue(claim) => json(store.next_due(claim.request()).await?),
            QueueCall::SetFlowRunState { run, state, expected } => {
                json(store.set_flow_run_state(run, &state, &expected).await?)
            }
            QueueCall::LatestExpectedStart { deployment } => {
                json(store.latest_expected_start(deployment).await?)
            }
            QueueCall::ResumeFlowRun { run, input } => {
                json(store.resume_flow_run(run, input.as_ref()).await?)
            }
            QueueCall::TakeResumeInput { run } => json(store.take_resume_input(run).await?),
            QueueCall::CrashedRuns { ended_after } => json(store.crashed_runs(ended_after).await?),
            QueueCall::MarkLateRuns { due_before } => json(store.mark_late_runs(due_before).await?),
            QueueCall::CancellingRuns { lease } => json(store.cancelling_runs(lease).await?),
            QueueCall::UpdateWorkQueue { name, update } => {
                json(store.update_work_queue(&name, &update).await?)
            }
            QueueCall::WorkerHeartbeat { beat } => json(store.worker_heartbeat(&beat).await?),
        }
    }
}
