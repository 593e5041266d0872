//! The one policy for poisoned locks.
//!
//! A `std::sync::Mutex` is poisoned when a thread panicked while holding it. Every lock in
//! Sluice guards plain data (maps, counters, the last answer of a probe) whose every update
//! is one assignment or one map operation, so a panic cannot leave it half-written: the data
//! is used as it is, and the request path never fails or panics because another one did.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering the data of a poisoned lock (see the module docs).
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let shared = std::sync::Arc::new(Mutex::new(1));
        let poisoner = shared.clone();
        let _ = std::thread::spawn(move || {
            let mut guard = poisoner.lock().expect("first lock");
            *guard = 2;
            panic!("poison it");
        })
        .join();
        assert!(shared.is_poisoned());
        assert_eq!(*lock(&shared), 2);
    }
}
