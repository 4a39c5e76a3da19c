//! The payment attempt in flight for each order and purpose (the final payment, or one option).
//! It is written before the first request and
//! removed only once the outcome is known, so whatever interrupts a payment (a lost answer, a
//! timeout, the app killed) the next try repeats the same attempt with the same idempotency key.
//! Only the gateway's payment method reference is kept, never card data.

use caas_protocol::api::Money;
use caas_protocol::options::OptionCode;
pub use caas_protocol::payment::PaymentPurpose;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{CaasError, Result};

/// One payment attempt as first sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAttempt {
    pub order_id: Uuid,
    pub purpose: PaymentPurpose,
    pub idempotency_key: String,
    /// The gateway's `pm_...` reference.
    pub payment_method: String,
    pub amount: Money,
    /// The gateway's payment id, once an answer named it.
    pub intent_id: Option<String>,
}

pub fn save_attempt(conn: &Connection, attempt: &PaymentAttempt) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO payment_attempts (order_id, idempotency_key, payment_method, amount_minor, currency, intent_id,
                                       created_at, purpose)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(order_id, purpose) DO UPDATE SET idempotency_key = excluded.idempotency_key,
             payment_method = excluded.payment_method, amount_minor = excluded.amount_minor,
             currency = excluded.currency, intent_id = excluded.intent_id, created_at = excluded.created_at",
    )?
    .execute(params![
        attempt.order_id.to_string(),
        attempt.idempotency_key,
        attempt.payment_method,
        attempt.amount.amount_minor,
        attempt.amount.currency,
        attempt.intent_id,
        Utc::now().to_rfc3339(),
        attempt.purpose.stored()
    ])?;
    Ok(())
}

pub fn load_attempt(conn: &Connection, order: Uuid, purpose: &PaymentPurpose) -> Result<Option<PaymentAttempt>> {
    Ok(conn
        .prepare_cached(
            "SELECT idempotency_key, payment_method, amount_minor, currency, intent_id FROM payment_attempts
             WHERE order_id = ?1 AND purpose = ?2",
        )?
        .query_row(params![order.to_string(), purpose.stored()], |r| {
            Ok(PaymentAttempt {
                order_id: order,
                purpose: purpose.clone(),
                idempotency_key: r.get(0)?,
                payment_method: r.get(1)?,
                amount: Money { amount_minor: r.get(2)?, currency: r.get(3)? },
                intent_id: r.get(4)?,
            })
        })
        .optional()?)
}

/// Forgets an attempt once its outcome is final, if it is still `key`'s.
pub fn finish_attempt(conn: &Connection, order: Uuid, purpose: &PaymentPurpose, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM payment_attempts WHERE order_id = ?1 AND purpose = ?2 AND idempotency_key = ?3")?
        .execute(params![order.to_string(), purpose.stored(), key])?;
    Ok(())
}

/// The options of `order` with a payment attempt in flight.
pub fn options_in_flight(conn: &Connection, order: Uuid) -> Result<Vec<OptionCode>> {
    let mut statement =
        conn.prepare_cached("SELECT purpose FROM payment_attempts WHERE order_id = ?1 AND purpose LIKE 'option:%'")?;
    let purposes = statement.query_map([order.to_string()], |r| r.get::<_, String>(0))?;
    let mut options = Vec::new();
    for purpose in purposes {
        match PaymentPurpose::from_stored(&purpose?) {
            Some(PaymentPurpose::Option(option)) => options.push(option),
            Some(PaymentPurpose::FinalPayment) => {}
            None => return Err(CaasError::corrupt("a payment attempt's purpose is unreadable")),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    #[test]
    fn an_attempt_survives_until_its_own_key_finishes_it() {
        let mut conn = Connection::open_in_memory().expect("open");
        schema::migrate(&mut conn).expect("schema");
        let order = Uuid::from_u128(1);
        let attempt = PaymentAttempt {
            order_id: order,
            purpose: PaymentPurpose::FinalPayment,
            idempotency_key: "pay_1".into(),
            payment_method: "pm_1".into(),
            amount: Money { amount_minor: 100, currency: "EUR".into() },
            intent_id: None,
        };
        let final_payment = PaymentPurpose::FinalPayment;
        save_attempt(&conn, &attempt).expect("save");
        finish_attempt(&conn, order, &final_payment, "pay_other").expect("finish another");
        assert_eq!(load_attempt(&conn, order, &final_payment).expect("load"), Some(attempt.clone()));
        let named = PaymentAttempt { intent_id: Some("pi_1".into()), ..attempt.clone() };
        save_attempt(&conn, &named).expect("update");
        assert_eq!(load_attempt(&conn, order, &final_payment).expect("load"), Some(named));
        // An option's attempt is another attempt of the same order.
        let seats = PaymentPurpose::Option(OptionCode::parse("heated-seats").expect("code"));
        let option = PaymentAttempt { purpose: seats.clone(), idempotency_key: "opt_1".into(), ..attempt };
        save_attempt(&conn, &option).expect("save option");
        assert_eq!(
            options_in_flight(&conn, order).expect("in flight"),
            vec![OptionCode::parse("heated-seats").expect("code")]
        );
        finish_attempt(&conn, order, &final_payment, "pay_1").expect("finish");
        assert_eq!(load_attempt(&conn, order, &final_payment).expect("load"), None);
        assert_eq!(load_attempt(&conn, order, &seats).expect("load"), Some(option));
    }
}
