//! The payment gateway's ledger: the money it actually took, and what it gave back.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::labels;
use super::orders::{order_path, short};
use super::page::{self, Failure, Flash, Section};
use super::session::Signed;
use crate::platform::{AppState, sandbox};

/// The most charges the page lists (the newest); a sandbox rarely takes a tenth of it.
const MAX_CHARGES: u32 = 500;

pub async fn page(State(state): State<AppState>, _: Signed, flash: Flash) -> Result<Response, Failure> {
    let charges = sandbox::ledger(&state, None, Some(MAX_CHARGES)).await?;
    let body = html! {
        h1 { "Payment gateway ledger" }
        p.muted {
            "Every charge the gateway took, oldest first (the newest " (MAX_CHARGES) " at most); a refunded one says "
            "when it went back."
        }
        @if charges.is_empty() {
            p.muted { "No money taken yet." }
        } @else {
            table #ledger {
                thead { tr { th { "Charged" } th { "Order" } th { "Amount" } th { "Payment" } th { "Refunded" } } }
                tbody {
                    @for charge in &charges {
                        tr data-order=(charge.order_id) {
                            td { (labels::stored_time(&charge.charged_at)) }
                            td { a href=(order_path(charge.order_id)) { (short(charge.order_id)) } }
                            td.amount { (labels::money(&charge.amount)) }
                            td { code { (charge.intent_id) } }
                            td { (charge.refunded_at.as_deref().map(labels::stored_time).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    };
    page::render(&state, Section::Ledger, "Ledger", flash, None, body)
}
