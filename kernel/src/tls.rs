//! The process's TLS crypto provider. rmcp's HTTP client (reqwest 0.13) is built without one, so
//! the kernel installs ring, which the AI provider's client already uses, before anything may
//! open an `https://` connection. Installing again is harmless.

/// Installs ring as the process-wide rustls provider, once.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err only when another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
