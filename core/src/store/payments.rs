//! The payment attempt in flight for each order. It is written before the first request and
//! removed only once the outcome is known, so whatever interrupts a payment (a lost answer, a
//! timeout, the app killed) the next try repeats the same attempt with the same idempotency key.
//! Only the gateway's payment method reference is kept, never card data.

use caas_protocol::api::Money;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::Result;

/// One payment attempt as first sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAttempt {
    pub order_id: Uuid,
    pub idempotency_key: String,
    /// The gateway's `pm_...` reference.
    pub payment_method: String,
    pub amount: Money,
    /// The gateway's payment id, once an answer named it.
    pub intent_id: Option<String>,
}

pub fn save_attempt(conn: &Connection, attempt: &PaymentAttempt) -> Result<()> {
    conn.execute(
        "INSERT INTO payment_attempts (order_id, idempotency_key, payment_method, amount_minor, currency, intent_id,
                                       created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(order_id) DO UPDATE SET idempotency_key = excluded.idempotency_key,
             payment_method = excluded.payment_method, amount_minor = excluded.amount_minor,
             currency = excluded.currency, intent_id = excluded.intent_id, created_at = excluded.created_at",
        params![
            attempt.order_id.to_string(),
            attempt.idempotency_key,
            attempt.payment_method,
            attempt.amount.amount_minor,
            attempt.amount.currency,
            attempt.intent_id,
            Utc::now().to_rfc3339()
        ],
    )?;
    Ok(())
}

pub fn load_attempt(conn: &Connection, order: Uuid) -> Result<Option<PaymentAttempt>> {
    Ok(conn
        .query_row(
            "SELECT idempotency_key, payment_method, amount_minor, currency, intent_id FROM payment_attempts
             WHERE order_id = ?1",
            [order.to_string()],
            |r| {
                Ok(PaymentAttempt {
                    order_id: order,
                    idempotency_key: r.get(0)?,
                    payment_method: r.get(1)?,
                    amount: Money { amount_minor: r.get(2)?, currency: r.get(3)? },
                    intent_id: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Forgets the attempt of `order` once its outcome is final, if it is still `key`'s.
pub fn finish_attempt(conn: &Connection, order: Uuid, key: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM payment_attempts WHERE order_id = ?1 AND idempotency_key = ?2",
        params![order.to_string(), key],
    )?;
    Ok(())
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
            idempotency_key: "pay_1".into(),
            payment_method: "pm_1".into(),
            amount: Money { amount_minor: 100, currency: "EUR".into() },
            intent_id: None,
        };
        save_attempt(&conn, &attempt).expect("save");
        finish_attempt(&conn, order, "pay_other").expect("finish another");
        assert_eq!(load_attempt(&conn, order).expect("load"), Some(attempt.clone()));
        let named = PaymentAttempt { intent_id: Some("pi_1".into()), ..attempt };
        save_attempt(&conn, &named).expect("update");
        assert_eq!(load_attempt(&conn, order).expect("load"), Some(named));
        finish_attempt(&conn, order, "pay_1").expect("finish");
        assert_eq!(load_attempt(&conn, order).expect("load"), None);
    }
}
