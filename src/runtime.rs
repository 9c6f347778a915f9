//! The async runtime of the network clients (octocrab, reqwest,
//! tokio-postgres). gatehouse is a one-shot command: each client runs its
//! requests to completion on a current-thread runtime of its own.

/// A current-thread runtime with I/O and timers enabled.
pub fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
