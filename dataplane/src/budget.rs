//! The process-wide memory budget for request bodies being received.
//!
//! Every body Sluice buffers (produce, request-response, echo) holds its share of the
//! budget while it is being received: its declared `content-length` up front, or its buffer
//! as it grows for a chunked body. A body that would take the budget over its limit is
//! refused with `503` + `Retry-After` (`overloaded`) instead of memory, so clients that
//! send part of a large body and stall cannot grow the process without bound.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::DataPlaneError;

/// Default budget: 64 MiB, 64 bodies at the default 1 MiB limit, which fits a small
/// container.
pub const DEFAULT_BODY_BUDGET_BYTES: u64 = 64 * 1024 * 1024;

/// The budget, shared by every listener of the process.
#[derive(Debug)]
pub struct BodyBudget {
    used: AtomicU64,
    limit: u64,
}

impl Default for BodyBudget {
    fn default() -> Self {
        Self::new(DEFAULT_BODY_BUDGET_BYTES)
    }
}

impl BodyBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            used: AtomicU64::new(0),
            limit,
        }
    }

    /// Bytes held by bodies being received now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// A share of the budget, empty at first, given back when dropped.
    pub(crate) fn share(&self) -> Share<'_> {
        Share {
            budget: self,
            bytes: 0,
        }
    }
}

/// What one body holds of the budget.
pub(crate) struct Share<'a> {
    budget: &'a BodyBudget,
    bytes: u64,
}

impl Share<'_> {
    /// Grows this share to `bytes`, or refuses when the budget cannot give that much.
    pub(crate) fn grow_to(&mut self, bytes: u64) -> Result<(), DataPlaneError> {
        let Some(extra) = bytes.checked_sub(self.bytes).filter(|extra| *extra > 0) else {
            return Ok(());
        };
        let limit = self.budget.limit;
        self.budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(extra).filter(|total| *total <= limit)
            })
            .map_err(|_| DataPlaneError::Overloaded { limit_bytes: limit })?;
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_refused_past_the_limit_and_given_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let mut first = budget.share();
        first.grow_to(60).expect("fits");
        let mut second = budget.share();
        assert!(second.grow_to(50).is_err(), "60 + 50 is over 100");
        second.grow_to(40).expect("60 + 40 fits");
        first.grow_to(30).expect("shrinking is a no-op");
        assert_eq!(budget.used(), 100);
        drop(first);
        assert_eq!(budget.used(), 40);
        second.grow_to(100).expect("fits once the first is gone");
        drop(second);
        assert_eq!(budget.used(), 0);
    }
}
