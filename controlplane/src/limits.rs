//! Process limits raised at start: every SSE stream and keep-alive connection holds a file
//! descriptor, and common defaults (a soft limit of 1,024 under a hard one of 500,000 or
//! more) would cap a gateway far below what its memory allows.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The open-file limit before and after [`raise_open_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit Sluice started with.
    pub before: Option<u64>,
    /// The soft limit now.
    pub now: Option<u64>,
    /// The hard limit, which only a privileged process can raise.
    pub hard: Option<u64>,
}

/// Raises the soft limit of open files to the hard limit; says what it did.
pub fn raise_open_files() -> OpenFiles {
    let limit = getrlimit(Resource::Nofile);
    let (before, hard) = (limit.current, limit.maximum);
    if before != hard {
        let raised = Rlimit {
            current: hard,
            maximum: hard,
        };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %error, soft = ?before, hard = ?hard, "the open file limit could not be raised");
        }
    }
    OpenFiles {
        before,
        now: getrlimit(Resource::Nofile).current,
        hard,
    }
}

/// Logs the open-file limit once at start, raised or not.
pub fn log_open_files(files: OpenFiles) {
    let show = |limit: Option<u64>| limit.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    if files.before == files.now {
        tracing::info!(open_files = %show(files.now), hard = %show(files.hard), "open file limit (each connection and stream holds one)");
    } else {
        tracing::info!(from = %show(files.before), to = %show(files.now), "open file limit raised to the hard limit (each connection and stream holds one)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let hard = getrlimit(Resource::Nofile).maximum;
        // Lower it first where that is possible, so that the raise is exercised.
        if let Some(hard) = hard.filter(|h| *h > 64) {
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(hard / 2),
                    maximum: Some(hard),
                },
            )
            .unwrap();
        }
        let files = raise_open_files();
        assert_eq!(files.now, files.hard);
        assert_eq!(files.hard, hard);
        if hard.is_some_and(|h| h > 64) {
            assert_ne!(files.before, files.now, "the limit was raised");
        }
    }
}
