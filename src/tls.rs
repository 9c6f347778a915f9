//! The one TLS crypto provider of the process: rustls with ring (reqwest,
//! octocrab and tokio-postgres are all built without a default provider).

/// Install rustls' ring provider for every TLS client of the process. Every
/// client constructor calls it; only the first call does anything.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err only when another provider was installed first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
