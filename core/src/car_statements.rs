//! What the car signed for the platform (option receipts, odometer reports), sent from the
//! cache: at once when the phone has signal, else on the next sync. A statement the platform
//! refuses is dropped (it would be refused forever) and does not hold back the others.

use caas_protocol::maintenance::VehicleReportRequest;
use caas_protocol::options::OptionReceiptRequest;
use caas_protocol::pairing::api::encode;

use crate::client::Caas;
use crate::error::{CaasError, Result};
use crate::store::vehicle_keys::{self, CarStatement};
use crate::store::{self};
use crate::updates::Change;

impl Caas {
    /// Sends the kept statements; part of a sync. `false` when some wait for the next one (offline,
    /// or an answer this version cannot read). Never an error: the car did what it signed, whatever
    /// the platform hears now.
    pub(crate) async fn report_car_statements(&self) -> bool {
        match self.try_report_car_statements().await {
            Ok(all) => all,
            Err(error) => {
                tracing::warn!(error = error.chain(), "the car's statements wait for the next sync");
                false
            }
        }
    }

    async fn try_report_car_statements(&self) -> Result<bool> {
        let pending = self.inner.store.read(vehicle_keys::pending_statements).await?;
        if pending.is_empty() {
            return Ok(true);
        }
        let token = self.token().await?;
        for (key, order, statement) in pending {
            let answer = match &statement {
                CarStatement::OptionReceipt { receipt, .. } => {
                    let request = OptionReceiptRequest { receipt: encode(receipt) };
                    self.inner.api.report_option_receipt(&token, order, &request).await
                }
                CarStatement::Telemetry { report } => {
                    let request = VehicleReportRequest { report: encode(report) };
                    self.inner.api.report_vehicle(&token, order, &request).await
                }
            };
            let body = statement.body().to_vec();
            match answer {
                Ok(view) if view.value.id == order => {
                    self.inner
                        .store
                        .write(move |tx| {
                            vehicle_keys::forget_statement(tx, &key, &body)?;
                            store::upsert_details(tx, &view)
                        })
                        .await?;
                    if let Err(error) = self.sync_order(order).await {
                        tracing::debug!(error = error.chain(), "it shows after the next sync");
                    }
                    self.notify(Change::Order(order));
                }
                Ok(_) => return Err(CaasError::Protocol("the platform answered with another order".into())),
                Err(error) if error.is_unreachable() => {
                    tracing::info!(error = error.chain(), "the car's statements wait for a connection");
                    return Ok(false);
                }
                Err(refused @ (CaasError::Rejected { .. } | CaasError::NotFound(_))) => {
                    tracing::warn!(error = refused.chain(), %key, "the platform refused a statement of the car");
                    self.inner.store.write(move |tx| vehicle_keys::forget_statement(tx, &key, &body)).await?;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }
}
