//! Reading Java KeyStore (JKS) files: private key entries (the key decrypted with the
//! store's password) and trusted certificate entries.
//!
//! The format, all integers big-endian: magic `FEEDFEED`, version (1 or 2), entry count,
//! then each entry: tag (1 private key, 2 trusted certificate), alias (Java modified UTF-8
//! with a 16-bit length), creation time (64 bits); a private key entry holds the protected
//! key (DER `EncryptedPrivateKeyInfo`) and its certificate chain, a trusted entry one
//! certificate; certificates are preceded by their type name in version 2. The file ends
//! with a SHA-1 over the password (UTF-16BE), the words "Mighty Aphrodite" and everything
//! before, which proves the password and the file's integrity.
//!
//! A protected key is `salt (20) || key XOR keystream || check (20)`, where the keystream
//! is SHA-1(password || salt), then SHA-1(password || previous block), and the check is
//! SHA-1(password || key): the key is a PKCS#8 `PrivateKeyInfo`.

use sha1::{Digest, Sha1};

const MAGIC: u32 = 0xFEED_FEED;
const TAG_KEY: u32 = 1;
const TAG_TRUSTED: u32 = 2;
const DIGEST: usize = 20;
/// More entries than any real store holds: a corrupt count is refused before allocating.
const MAX_ENTRIES: u32 = 100_000;

/// The entries of a JKS file.
#[derive(Debug, Default)]
pub(super) struct Jks {
    /// Private keys (PKCS#8 DER) with their chains (DER, leaf first), by alias.
    pub keys: Vec<(String, Vec<u8>, Vec<Vec<u8>>)>,
    /// Trusted certificates (DER), by alias.
    pub certificates: Vec<(String, Vec<u8>)>,
}

/// Why a JKS file cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum JksError {
    #[error("not a JKS file")]
    NotJks,
    #[error("the file ends early or is corrupt")]
    Truncated,
    #[error("wrong password, or the file was changed (integrity check failed)")]
    Integrity,
    #[error("the key of '{0}' cannot be decrypted with the store's password")]
    Key(String),
    #[error("entry of unknown kind {0}")]
    UnknownTag(u32),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], JksError> {
        let end = self.at.checked_add(n).ok_or(JksError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(JksError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, JksError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, JksError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Result<String, JksError> {
        let length = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.take(length)?).into_owned())
    }

    fn blob(&mut self) -> Result<Vec<u8>, JksError> {
        let length = usize::try_from(self.u32()?).map_err(|_| JksError::Truncated)?;
        Ok(self.take(length)?.to_vec())
    }

    fn certificate(&mut self, version: u32) -> Result<Vec<u8>, JksError> {
        if version == 2 {
            self.utf()?; // the certificate type, "X.509"
        }
        self.blob()
    }
}

/// The password as Java hashes it: UTF-16 big-endian.
fn password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Reads a JKS file, checking its integrity with `password`.
pub(super) fn read(bytes: &[u8], password: &str) -> Result<Jks, JksError> {
    let password = password_bytes(password);
    let body_length = bytes.len().checked_sub(DIGEST).ok_or(JksError::NotJks)?;
    let (body, digest) = bytes.split_at(body_length);
    let mut reader = Reader { bytes: body, at: 0 };
    if reader.u32().map_err(|_| JksError::NotJks)? != MAGIC {
        return Err(JksError::NotJks);
    }
    let version = reader.u32()?;
    if version != 1 && version != 2 {
        return Err(JksError::NotJks);
    }
    let expected = Sha1::new()
        .chain_update(&password)
        .chain_update(b"Mighty Aphrodite")
        .chain_update(body)
        .finalize();
    if expected.as_slice() != digest {
        return Err(JksError::Integrity);
    }
    let count = reader.u32()?;
    if count > MAX_ENTRIES {
        return Err(JksError::Truncated);
    }
    let mut store = Jks::default();
    for _ in 0..count {
        let tag = reader.u32()?;
        let alias = reader.utf()?;
        reader.take(8)?; // creation time
        match tag {
            TAG_KEY => {
                let protected = reader.blob()?;
                let chain_length = reader.u32()?;
                if chain_length > MAX_ENTRIES {
                    return Err(JksError::Truncated);
                }
                let mut chain = Vec::new();
                for _ in 0..chain_length {
                    chain.push(reader.certificate(version)?);
                }
                let key =
                    unprotect(&protected, &password).ok_or_else(|| JksError::Key(alias.clone()))?;
                store.keys.push((alias, key, chain));
            }
            TAG_TRUSTED => {
                let certificate = reader.certificate(version)?;
                store.certificates.push((alias, certificate));
            }
            other => return Err(JksError::UnknownTag(other)),
        }
    }
    Ok(store)
}

/// The encrypted data of a DER `EncryptedPrivateKeyInfo`: a SEQUENCE holding an algorithm
/// identifier (a SEQUENCE) and an OCTET STRING.
fn encrypted_data(der: &[u8]) -> Option<&[u8]> {
    let (tag, outer, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _, rest) = tlv(outer)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, data, _) = tlv(rest)?;
    (tag == 0x04).then_some(data)
}

/// One DER element: its tag, its contents and what follows it.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for byte in der.get(2..2 + count)? {
            length = (length << 8) | usize::from(*byte);
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    Some((tag, der.get(header..end)?, der.get(end..)?))
}

/// The PKCS#8 key inside a protected key, or `None` when the password does not fit.
fn unprotect(protected: &[u8], password: &[u8]) -> Option<Vec<u8>> {
    let data = encrypted_data(protected)?;
    if data.len() < 2 * DIGEST {
        return None;
    }
    let (salt, rest) = data.split_at(DIGEST);
    let (encrypted, check) = rest.split_at(rest.len() - DIGEST);
    let mut key = Vec::with_capacity(encrypted.len());
    let mut block: Vec<u8> = salt.to_vec();
    for chunk in encrypted.chunks(DIGEST) {
        block = Sha1::new()
            .chain_update(password)
            .chain_update(&block)
            .finalize()
            .to_vec();
        key.extend(chunk.iter().zip(&block).map(|(a, b)| a ^ b));
    }
    let expected = Sha1::new()
        .chain_update(password)
        .chain_update(&key)
        .finalize();
    (expected.as_slice() == check).then_some(key)
}
