//! The key stores of a `tls` client binding in front of Kafka, read into the PEM
//! properties librdkafka takes (`ssl.ca.pem`, `ssl.certificate.pem`, `ssl.key.pem`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sluice_shared::table::{KafkaCluster, KafkaStoreRole};

use super::store;
use crate::kafka::ClientError;

/// Reads every cluster's key stores and sets the PEM properties they provide; a store that
/// cannot be read, or lacks an alias, fails with its option's pointer.
pub(crate) fn kafka_stores(clusters: &mut [KafkaCluster]) -> Result<(), ClientError> {
    for cluster in clusters {
        let stores = std::mem::take(&mut cluster.security.stores);
        for entry in &stores {
            let failed = |reason: String| ClientError::File {
                binding: cluster.binding.clone(),
                pointer: entry.pointer.clone(),
                path: entry.file.path.clone(),
                reason,
            };
            let read = store::read(&entry.file).map_err(|e| failed(e.to_string()))?;
            match &entry.role {
                KafkaStoreRole::Trust(aliases) => {
                    let certificates = read
                        .trusted(aliases, &entry.file)
                        .map_err(|e| failed(e.to_string()))?;
                    let pem: String = certificates.iter().map(certificate_pem).collect();
                    cluster.security.set("ssl.ca.pem", pem);
                }
                KafkaStoreRole::Key(alias) => {
                    let key = read
                        .key(alias, &entry.file)
                        .map_err(|e| failed(e.to_string()))?;
                    let chain: String = key.chain.iter().map(certificate_pem).collect();
                    cluster.security.set("ssl.certificate.pem", chain);
                    cluster.security.set("ssl.key.pem", key_pem(&key.key));
                }
            }
        }
        cluster.security.stores = stores;
    }
    Ok(())
}

fn certificate_pem(certificate: &CertificateDer<'_>) -> String {
    pem("CERTIFICATE", certificate.as_ref())
}

fn key_pem(key: &PrivateKeyDer<'_>) -> String {
    pem("PRIVATE KEY", key.secret_der())
}

/// `der` as a PEM block with `label`, lines of 64 characters.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
