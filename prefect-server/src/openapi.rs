//! The OpenAPI document's frame; its paths come from the handlers'
//! `#[utoipa::path]` annotations, collected as the router is built.

use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::response::Response;

/// The document's title, version and description.
#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "prefect-rs",
    description = "The run database of prefect-rs: flows, runs, logs, deployments, work queues."
))]
pub(crate) struct Document;

/// The entry of the document itself.
pub(crate) fn document_path() -> PathItem {
    let mut operation = Operation::new();
    operation.summary = Some("This document".into());
    operation.responses.responses.insert("200".into(), Response::new("The OpenAPI document").into());
    PathItem::new(HttpMethod::Get, operation)
}
