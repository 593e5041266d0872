//! PEM certificate and key files, and the validity of certificates.

use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing::warn;
use x509_cert::der::Decode;

use super::error::{FileProblem, Validity};

/// Certificates expiring sooner than this are logged as a warning when loaded.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

pub(super) fn read_file(path: &str) -> Result<Vec<u8>, FileProblem> {
    std::fs::read(path).map_err(|e| FileProblem::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

pub(super) fn read_chain(path: &str) -> Result<Vec<CertificateDer<'static>>, FileProblem> {
    let bytes = read_file(path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FileProblem::NotCertificate {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(FileProblem::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

pub(super) fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, FileProblem> {
    let bytes = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => FileProblem::NoKey {
            path: path.to_owned(),
        },
        other => FileProblem::NotKey {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    })
}

/// Refuses a certificate that is not valid at `now`; warns when it expires soon. Returns
/// when it expires.
pub(super) fn check_validity(
    leaf: &CertificateDer<'_>,
    now: SystemTime,
) -> Result<SystemTime, Validity> {
    let certificate = x509_cert::Certificate::from_der(leaf.as_ref())
        .map_err(|e| Validity::Unparsable(e.to_string()))?;
    let validity = &certificate.tbs_certificate.validity;
    let not_before = SystemTime::UNIX_EPOCH + validity.not_before.to_date_time().unix_duration();
    let not_after = SystemTime::UNIX_EPOCH + validity.not_after.to_date_time().unix_duration();
    if now > not_after {
        return Err(Validity::Expired(httpdate::fmt_http_date(not_after)));
    }
    if now < not_before {
        return Err(Validity::NotYetValid(httpdate::fmt_http_date(not_before)));
    }
    if not_after
        .duration_since(now)
        .is_ok_and(|left| left < EXPIRY_WARNING)
    {
        warn!(
            expires = %httpdate::fmt_http_date(not_after),
            "tls certificate expires in less than 14 days"
        );
    }
    Ok(not_after)
}
