//! The OpenAPI document, generated from the handlers' annotations and the protocol's types.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::platform;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "CaaS platform (mock)", description = "The CaaS platform API as the companion app and the sandbox use it."),
    paths(
        platform::sales::register_sale,
        platform::sales::list_orders,
        platform::sales::get_order,
        platform::sales::record_reservation,
        platform::sales::amend_configuration,
        platform::sales::retry_factory_order,
        platform::registration::retry_registration,
        platform::stock::list_stock,
        platform::stock::sell_from_stock,
        platform::payments::config,
        platform::payments::pay,
        platform::payments::get_payment,
        platform::options::catalogue,
        platform::options::buy,
        platform::options::receipt,
        platform::maintenance::report,
        platform::maintenance::slots,
        platform::maintenance::book,
        platform::maintenance::cancel,
        platform::maintenance::record_visit,
        platform::customers::request_code,
        platform::customers::sign_in,
        platform::customers::refresh,
        platform::customers::sign_out,
        platform::customers::list_orders,
        platform::customers::get_order,
        platform::customers::order_events,
        platform::customers::record_key,
        platform::customers::register_device,
        platform::customers::remove_device,
        platform::customers::device_stream,
        platform::webhooks::factory_webhook,
        platform::webhooks::gateway_webhook,
        platform::sandbox::staff_token,
        platform::sandbox::sign_in_code,
        platform::sandbox::live_sessions,
        platform::sandbox::list_orders,
        platform::sandbox::order_events,
        platform::sandbox::rewrite_history,
        platform::steps::list_next_steps,
        platform::steps::take_next_step,
        platform::robot_courier::switch_robot_courier,
        platform::sandbox::advance_factory,
        platform::sandbox::delay_factory,
        platform::sandbox::factory_faults,
        platform::sandbox::factory_faults_now,
        platform::sandbox::messages,
        platform::feed::feed,
        platform::sandbox::advance_clock,
        platform::sandbox::complete_three_d_secure,
        platform::sandbox::payment_faults,
        platform::sandbox::payment_faults_now,
        platform::sandbox::payment_ledger,
        platform::sandbox::append_event,
        platform::sandbox::duplicate_charge,
        platform::sandbox::registry_faults,
        platform::sandbox::handover_code,
        platform::sandbox::driver_faults,
        platform::customers::driver_sign_in,
        platform::delivery::customer::slots,
        platform::delivery::customer::choose_window,
        platform::delivery::customer::confirm_address,
        platform::delivery::customer::handover_code,
        platform::delivery::customer::dispute_handover,
        platform::delivery::driver::deliveries,
        platform::delivery::driver::act,
        platform::delivery::batch::act_in_batch,
        platform::delivery::driver::resolve_short_code,
        platform::delivery::dealership::receive,
        platform::delivery::dealership::hand_over,
        platform::pairing::issue_grant,
        platform::pairing::link,
        platform::pairing::revoke_key,
        platform::sandbox::inspect_vehicle,
        platform::sandbox::vehicle_faults,
        platform::sandbox::drive,
        platform::sandbox::revoke_grant,
    ),
    components(schemas(caas_protocol::push::PushHint, caas_protocol::api::EventKind, caas_protocol::api::ApiError)),
    modifiers(&BearerAuth, &FrameworkAnswers),
)]
pub struct ApiDoc;

/// The answers every operation of a kind can give whatever its handler does, documented in one
/// place: a body over the limit or too slow to arrive (413, 408: bodies are read before anything
/// else), the bearer check (401, 403 for another role), a path that names nothing (404, malformed
/// ids included), a body or query the API cannot read (415, 422), the `Idempotency-Key` layer on
/// mutations (409 while the first request runs, 422 for a reused key).
struct FrameworkAnswers;

impl Modify for FrameworkAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let mutations = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in mutations.into_iter().flatten() {
                add(operation, "409", "idempotency_key_in_use: the first request with this key is still running");
                add(operation, "422", "invalid_request, or idempotency_key_reused");
            }
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                add(operation, "408", "invalid_request: the request body did not arrive in time");
                let limit = format!(
                    "invalid_request: the request body is over the limit ({} KiB)",
                    crate::request_body::MAX_REQUEST_BYTES / 1024
                );
                add(operation, "413", &limit);
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(operation, "401", "unauthorized: no bearer token, or one that expired or was revoked");
                    add(operation, "403", "forbidden: a token of another role, or not the one this needs");
                }
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let in_path = parameters.iter().any(|p| p.parameter_in == ParameterIn::Path);
                let in_query = parameters.iter().any(|p| p.parameter_in == ParameterIn::Query);
                if in_path {
                    add(operation, "404", "not_found: nothing of the caller's has this id");
                }
                if in_query {
                    add(operation, "422", "invalid_request: a query parameter cannot be read");
                }
                if operation.request_body.is_some() {
                    add(operation, "415", "invalid_request: the body is not sent as JSON");
                    add(operation, "422", "invalid_request: the body cannot be read or breaks a rule");
                }
            }
        }
    }
}

/// Documents `status` with the API's error shape, unless the operation already does.
fn add(operation: &mut Operation, status: &str, description: &str) {
    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_answer(description));
}

fn error_answer(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiError"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}

/// The document as served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
