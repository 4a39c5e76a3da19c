//! The OpenAPI document, generated from the handlers' annotations and the protocol's types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        platform::customers::request_code,
        platform::customers::sign_in,
        platform::customers::refresh,
        platform::customers::sign_out,
        platform::customers::list_orders,
        platform::customers::get_order,
        platform::customers::order_events,
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
        platform::sandbox::next_steps,
        platform::sandbox::advance_factory,
        platform::sandbox::delay_factory,
        platform::sandbox::messages,
        platform::sandbox::advance_clock,
        platform::sandbox::complete_three_d_secure,
        platform::sandbox::payment_faults,
        platform::sandbox::payment_ledger,
        platform::sandbox::registry_faults,
        platform::sandbox::handover_code,
        platform::sandbox::driver_faults,
        platform::customers::driver_sign_in,
        platform::delivery::customer::slots,
        platform::delivery::customer::choose_window,
        platform::delivery::customer::confirm_address,
        platform::delivery::customer::handover_code,
        platform::delivery::driver::deliveries,
        platform::delivery::driver::act,
        platform::delivery::driver::resolve_short_code,
        platform::delivery::dealership::receive,
        platform::delivery::dealership::hand_over,
        platform::pairing::issue_grant,
        platform::pairing::link,
        platform::pairing::revoke_key,
        platform::sandbox::inspect_vehicle,
        platform::sandbox::vehicle_faults,
        platform::sandbox::revoke_grant,
    ),
    components(schemas(caas_protocol::push::PushHint, caas_protocol::api::EventKind)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The document as served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
