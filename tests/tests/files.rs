//! Files served through `http-filesystem` and `filesystem` bindings (the shape of Zilla's
//! http.filesystem example, written anew): content types, ETag and 304, changes seen
//! without a restart, 404, read-only methods, and no way out of `location` by `..`,
//! encoded separators or symbolic links.

use std::path::{Path, PathBuf};

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_tests::Sluice;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PORT: u16 = 7114;

struct Site {
    dir: PathBuf,
}

impl Site {
    /// `root/` with `index.html`, `big.bin`, `sub/page.txt`, and `secret.txt` beside it
    /// (outside the root).
    fn new(name: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("sluice-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/sub"))?;
        std::fs::write(dir.join("root/index.html"), "<h1>Welcome</h1>\n")?;
        std::fs::write(dir.join("root/sub/page.txt"), "nested\n")?;
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("root/big.bin"), big)?;
        std::fs::write(dir.join("secret.txt"), "top secret\n")?;
        std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("root/escape.txt"))?;
        std::os::unix::fs::symlink(dir.join("root/index.html"), dir.join("root/alias.html"))?;
        Ok(Self { dir })
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(root: &Path, symlinks: &str) -> String {
    format!(
        r#"name: example
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: [ {PORT} ] }}
    routes:
      - when: [ {{ port: {PORT} }} ]
        exit: north_http_server
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ {{ headers: {{ ":scheme": http }} }} ]
        exit: east_http_filesystem_mapping
  east_http_filesystem_mapping:
    type: http-filesystem
    kind: proxy
    routes:
      - when: [ {{ path: "/{{path}}" }} ]
        exit: east_filesystem_server
        with: {{ path: "${{params.path}}" }}
  east_filesystem_server:
    type: filesystem
    kind: server
    options: {{ location: "{root}/", symlinks: {symlinks} }}
"#,
        root = root.display()
    )
}

/// The status line of a raw HTTP/1.1 GET of `target`, sent byte for byte.
async fn raw_status(sluice: &Sluice, target: &str) -> Result<String> {
    let mut stream = tokio::net::TcpStream::connect(sluice.addr(PORT).await?).await?;
    stream
        .write_all(
            format!("GET {target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    anyhow::ensure!(
        !answer.contains("top secret"),
        "{target} leaked the secret: {answer}"
    );
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn files_are_served_with_types_etags_and_changes() -> Result<()> {
    let site = Site::new("serve")?;
    let sluice = Sluice::with_config(&config(&site.root(), "ignore")).await?;
    let page = sluice
        .send(PORT, Method::GET, "/index.html", &[], "")
        .await?;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body, "<h1>Welcome</h1>\n");
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let etag = page.headers["etag"].to_str()?.to_owned();
    assert!(page.headers.contains_key("last-modified"));

    let again = sluice
        .send(
            PORT,
            Method::GET,
            "/index.html",
            &[("if-none-match", &etag)],
            "",
        )
        .await?;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());

    // A change is served at once, with a new ETag.
    std::fs::write(
        site.root().join("index.html"),
        "<h1>Changed, and longer</h1>\n",
    )?;
    let changed = sluice
        .send(
            PORT,
            Method::GET,
            "/index.html",
            &[("if-none-match", &etag)],
            "",
        )
        .await?;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body, "<h1>Changed, and longer</h1>\n");
    assert_ne!(changed.headers["etag"].to_str()?, etag);

    let head = sluice
        .send(PORT, Method::HEAD, "/index.html", &[], "")
        .await?;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["content-length"], "29");
    assert!(head.body.is_empty());

    let big = sluice.send(PORT, Method::GET, "/big.bin", &[], "").await?;
    assert_eq!(big.status, StatusCode::OK);
    assert_eq!(big.headers["content-type"], "application/octet-stream");
    assert_eq!(big.body.len(), 200_000);
    assert!(
        big.body
            .iter()
            .enumerate()
            .all(|(i, b)| usize::from(*b) == i % 251)
    );

    assert_eq!(
        sluice
            .send(PORT, Method::GET, "/missing.html", &[], "")
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    // `/{path}` is one segment, as in Zilla; a directory is not a file.
    assert_eq!(
        sluice
            .send(PORT, Method::GET, "/sub", &[], "")
            .await?
            .status,
        StatusCode::NOT_FOUND
    );
    let post = sluice
        .send(PORT, Method::POST, "/index.html", &[], "x")
        .await?;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    Ok(())
}

#[tokio::test]
async fn nothing_outside_the_location_is_served() -> Result<()> {
    let site = Site::new("escape")?;
    let sluice = Sluice::with_config(&config(&site.root(), "ignore")).await?;
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/escape.txt",
        "/alias.html",
        "/index.html%00.txt",
    ] {
        let status = raw_status(&sluice, target).await?;
        assert!(
            status.contains(" 404 ") || status.contains(" 400 "),
            "{target}: {status}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn followed_links_stay_inside_the_location() -> Result<()> {
    let site = Site::new("follow")?;
    let sluice = Sluice::with_config(&config(&site.root(), "follow")).await?;
    let alias = sluice
        .send(PORT, Method::GET, "/alias.html", &[], "")
        .await?;
    assert_eq!(
        alias.status,
        StatusCode::OK,
        "a link inside the location is followed"
    );
    assert_eq!(alias.body, "<h1>Welcome</h1>\n");
    let status = raw_status(&sluice, "/escape.txt").await?;
    assert!(
        status.contains(" 404 "),
        "a link out of the location: {status}"
    );
    Ok(())
}
