//! The addressees' inboxes, simulated: the sign-in codes as the people they were emailed to read
//! them. They live in memory only: the platform itself keeps a code as a keyed digest, and its
//! outbound log keeps the mail with the code masked, so neither the database nor a backup holds a
//! live code. The sandbox reads a code here, as a test reads its own inbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

/// More pending codes than this are never kept: the oldest go first.
const MAX_PENDING: usize = 10_000;

/// Each address's live code and when it expires.
type Pending = HashMap<String, (String, DateTime<Utc>)>;

#[derive(Debug, Clone, Default)]
pub struct Inbox(Arc<Mutex<Pending>>);

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The code `email` was just sent, replacing an earlier one.
    pub fn deliver(&self, email: &str, code: String, expires_at: DateTime<Utc>) {
        let mut pending = self.lock();
        let now = Utc::now();
        pending.retain(|_, (_, until)| *until > now);
        while pending.len() >= MAX_PENDING {
            let Some(oldest) = pending.iter().min_by_key(|(_, (_, until))| *until).map(|(k, _)| k.clone()) else {
                break;
            };
            pending.remove(&oldest);
        }
        pending.insert(email.to_owned(), (code, expires_at));
    }

    /// The live code in `email`'s inbox.
    pub fn read(&self, email: &str) -> Option<String> {
        self.lock().get(email).filter(|(_, until)| *until > Utc::now()).map(|(code, _)| code.clone())
    }

    /// The code was used or replaced by a lockout: it is gone from the inbox too.
    pub fn discard(&self, email: &str) {
        self.lock().remove(email);
    }
}
