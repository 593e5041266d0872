use sluice_shared::table::{ClientTrust, StoreFile, StoreFormat, TlsIdentity, TlsListener};

use super::config::server_config;

struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sluice-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        Self { dir }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap_or_default();
        path.display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn settings(certificate: String, key: String) -> TlsListener {
    TlsListener {
        binding: "tls".to_owned(),
        identity: TlsIdentity::Pem { certificate, key },
        alpn: vec!["h2".to_owned(), "http/1.1".to_owned()],
        sni: Vec::new(),
        clients: None,
    }
}

fn generate(
    not_before: (i32, u8, u8),
    not_after: (i32, u8, u8),
) -> Result<(String, String), rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let key = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

#[test]
fn a_valid_pair_loads_with_alpn() -> Result<(), Box<dyn std::error::Error>> {
    let files = Files::new("valid");
    let (certificate, key) = generate((2020, 1, 1), (2999, 1, 1))?;
    let (config, _) = server_config(&settings(
        files.write("cert.pem", &certificate),
        files.write("key.pem", &key),
    ))?;
    assert_eq!(
        config.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    Ok(())
}

#[test]
fn every_bad_file_is_named_with_its_problem() -> Result<(), Box<dyn std::error::Error>> {
    let files = Files::new("bad");
    let (certificate, key) = generate((2020, 1, 1), (2999, 1, 1))?;
    let (_, other_key) = generate((2020, 1, 1), (2999, 1, 1))?;
    let (expired, expired_key) = generate((2020, 1, 1), (2021, 1, 1))?;
    let (future, future_key) = generate((2998, 1, 1), (2999, 1, 1))?;
    let cert = files.write("cert.pem", &certificate);
    let key = files.write("key.pem", &key);
    let cases = [
        (
            settings(
                files.dir.join("missing.pem").display().to_string(),
                key.clone(),
            ),
            "options/certificate): cannot read",
        ),
        (
            settings(cert.clone(), files.write("empty.pem", "")),
            "holds no unencrypted private key",
        ),
        (
            settings(files.write("text.pem", "hello\n"), key.clone()),
            "holds no CERTIFICATE block",
        ),
        (
            settings(cert.clone(), files.write("other.pem", &other_key)),
            "does not belong to the certificate",
        ),
        (
            settings(
                files.write("expired.pem", &expired),
                files.write("expired-key.pem", &expired_key),
            ),
            "expired on Fri, 01 Jan 2021",
        ),
        (
            settings(
                files.write("future.pem", &future),
                files.write("future-key.pem", &future_key),
            ),
            "not valid before",
        ),
        (
            // The key file named as the certificate, and the other way round.
            settings(key.clone(), cert.clone()),
            "holds no CERTIFICATE block",
        ),
    ];
    for (settings, expected) in cases {
        let error = server_config(&settings)
            .err()
            .ok_or_else(|| format!("{settings:?} loaded"))?
            .to_string();
        assert!(
            error.contains(expected)
                && error.starts_with("tls binding 'tls' (/bindings/tls/options/"),
            "{error:?} does not say {expected:?}"
        );
    }
    Ok(())
}

/// The test stores of `testdata/vault`, made with OpenSSL and keytool (see its README).
fn vault_file(name: &str, role: &'static str, password: &str) -> StoreFile {
    StoreFile {
        vault: "v".to_owned(),
        role,
        path: format!("{}/../testdata/vault/{name}", env!("CARGO_MANIFEST_DIR")),
        format: if name.ends_with(".jks") {
            StoreFormat::Jks
        } else {
            StoreFormat::Pkcs12
        },
        password: password.to_owned(),
    }
}

fn from_store(name: &str, aliases: &[&str]) -> TlsListener {
    TlsListener {
        identity: TlsIdentity::Store {
            store: vault_file(name, "keys", "generated"),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        },
        ..settings(String::new(), String::new())
    }
}

#[test]
fn keys_load_from_pkcs12_and_jks_stores_by_alias() -> Result<(), Box<dyn std::error::Error>> {
    for store in ["localhost.p12", "localhost.jks"] {
        let (config, not_after) = server_config(&from_store(store, &["localhost"]))?;
        assert!(
            not_after > 4_000_000_000,
            "{store}: the test certificate runs to 2126"
        );
        assert_eq!(config.alpn_protocols.len(), 2);
    }
    // keytool writes aliases in lower case; they compare without case.
    server_config(&from_store("localhost.jks", &["LocalHost"]))?;
    Ok(())
}

#[test]
fn store_mistakes_are_named() -> Result<(), Box<dyn std::error::Error>> {
    let cases = [
        (
            from_store("localhost.p12", &["other"]),
            "has no key with alias 'other' (it holds: localhost)",
        ),
        (
            from_store("localhost.jks", &["other"]),
            "has no key with alias 'other' (it holds: localhost)",
        ),
        (from_store("missing.p12", &["localhost"]), "cannot read"),
        (
            from_store("trust.jks", &["ca"]),
            "has no key with alias 'ca' (it holds: ca)",
        ),
    ];
    for (settings, expected) in cases {
        let error = server_config(&settings).err().ok_or("loaded")?.to_string();
        assert!(
            error.contains(expected),
            "{error:?} does not say {expected:?}"
        );
        assert!(
            error.starts_with("tls binding 'tls' (/bindings/tls/options/keys)"),
            "{error}"
        );
    }
    for store in ["localhost.p12", "localhost.jks"] {
        let mut wrong = from_store(store, &["localhost"]);
        if let TlsIdentity::Store { store, .. } = &mut wrong.identity {
            store.password = "wrong".to_owned();
        }
        let error = server_config(&wrong).err().ok_or("loaded")?.to_string();
        assert!(error.contains("password"), "{store}: {error}");
    }
    Ok(())
}

#[test]
fn client_trust_comes_from_the_trust_store() -> Result<(), Box<dyn std::error::Error>> {
    for store in ["trust.p12", "trust.jks"] {
        let mut mutual = from_store("localhost.p12", &["localhost"]);
        mutual.clients = Some(ClientTrust {
            store: vault_file(store, "trust", "generated"),
            aliases: vec!["ca".to_owned()],
            required: true,
        });
        server_config(&mutual)?;
        mutual.clients = Some(ClientTrust {
            store: vault_file(store, "trust", "generated"),
            aliases: vec!["nobody".to_owned()],
            required: true,
        });
        let error = server_config(&mutual).err().ok_or("loaded")?.to_string();
        assert!(
            error.contains("has no trusted certificate with alias 'nobody' (it holds: ca)"),
            "{error}"
        );
    }
    Ok(())
}

/// Test authorities (Zilla's examples among them) still issue X.509 version 1
/// certificates; clients accept them, so Sluice serves them.
#[test]
fn a_version_1_certificate_is_served() -> Result<(), Box<dyn std::error::Error>> {
    let dir = format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"));
    server_config(&settings(format!("{dir}/v1.pem"), format!("{dir}/v1.key")))?;
    // Its key must still be its own.
    let error = server_config(&settings(
        format!("{dir}/v1.pem"),
        format!("{dir}/server.key"),
    ))
    .err()
    .ok_or("a foreign key loaded")?
    .to_string();
    assert!(
        error.contains("does not belong to the certificate"),
        "{error}"
    );
    Ok(())
}

fn server_files(files: &Files, certificate: &str, key: &str) -> super::ServerFiles {
    super::ServerFiles {
        certificate: (
            files.write("admin.pem", certificate).into(),
            "--admin-tls-cert",
        ),
        key: (files.write("admin.key", key).into(), "--admin-tls-key"),
        client_ca: None,
    }
}

#[test]
fn files_named_on_the_command_line_are_checked_and_reloaded()
-> Result<(), Box<dyn std::error::Error>> {
    let files = Files::new("admin");
    let (first, first_key) = generate((2020, 1, 1), (2999, 1, 1))?;
    let (second, second_key) = generate((2020, 1, 1), (2998, 1, 1))?;
    let acceptor = super::FileAcceptor::load(server_files(&files, &first, &first_key))?;
    let loaded = acceptor.config();
    assert_eq!(
        loaded.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let first_expiry = acceptor.not_after();
    // A key that belongs to another certificate: refused, with the flag that named it.
    let mismatch = super::FileAcceptor::load(server_files(&files, &first, &second_key))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        mismatch.starts_with("--admin-tls-key: ") && mismatch.contains("does not belong"),
        "{mismatch}"
    );
    // A broken file on reload: the error names it and the configuration stays.
    files.write("admin.pem", "not a certificate");
    let broken = acceptor
        .reload()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(broken.starts_with("--admin-tls-cert: "), "{broken}");
    assert!(std::sync::Arc::ptr_eq(&loaded, &acceptor.config()));
    // The renewed pair in place: swapped in.
    server_files(&files, &second, &second_key);
    acceptor.reload()?;
    assert!(!std::sync::Arc::ptr_eq(&loaded, &acceptor.config()));
    assert!(
        acceptor.not_after() < first_expiry,
        "the second one expires first"
    );
    Ok(())
}

#[test]
fn a_client_from_files_names_the_file_it_cannot_use() -> Result<(), Box<dyn std::error::Error>> {
    let files = Files::new("client");
    let (certificate, key) = generate((2020, 1, 1), (2999, 1, 1))?;
    let ca = files.write("ca.pem", &certificate);
    let client = super::ClientFiles {
        ca: Some((ca.clone().into(), "--control-plane-ca")),
        identity: Some((
            (
                files.write("client.pem", &certificate).into(),
                "--client-cert",
            ),
            (files.write("client.key", &key).into(), "--client-key"),
        )),
    };
    let config = super::file_client_config(&client)?;
    assert!(config.client_auth_cert_resolver.has_certs());
    assert!(config.alpn_protocols.is_empty(), "left to the connector");
    let missing_key = super::ClientFiles {
        identity: Some((
            (
                files.write("client.pem", &certificate).into(),
                "--client-cert",
            ),
            (files.dir.join("none.key"), "--client-key"),
        )),
        ..client
    };
    let error = super::file_client_config(&missing_key)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.starts_with("--client-key: cannot read"), "{error}");
    let not_a_ca = super::ClientFiles {
        ca: Some((files.write("empty.pem", "").into(), "--control-plane-ca")),
        identity: None,
    };
    let error = super::file_client_config(&not_a_ca)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.starts_with("--control-plane-ca: "), "{error}");
    Ok(())
}
