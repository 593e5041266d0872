//! Key store files of vaults, as compiled: the data plane reads them.

/// One key store file of a vault.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreFile {
    /// The vault.
    pub vault: String,
    /// Which of its stores: `keys`, `trust` or `signers`.
    pub role: &'static str,
    /// The file, resolved against the configuration's directory.
    pub path: String,
    /// Its format.
    pub format: StoreFormat,
    /// Its password (never shown by `Debug`).
    pub password: String,
}

impl std::fmt::Debug for StoreFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFile")
            .field("vault", &self.vault)
            .field("role", &self.role)
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Key store formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFormat {
    /// PKCS#12.
    Pkcs12,
    /// Java KeyStore.
    Jks,
}
