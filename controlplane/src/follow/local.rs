//! The last good revision kept in the data directory (`last-good.json`).

use std::path::Path;

use serde_json::{Value, json};
use tracing::error;

use super::poll::Received;

/// The file holding the last good revision.
const LAST_GOOD: &str = "last-good.json";

pub(crate) fn read_last_good(dir: &Path) -> Option<Received> {
    let path = dir.join(LAST_GOOD);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            error!(path = %path.display(), error = %error, "cannot read the locally kept revision");
            return None;
        }
    };
    let parsed: Option<(u64, Value)> = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|doc| Some((doc.get("revision")?.as_u64()?, doc.get("config")?.clone())));
    match parsed {
        Some((number, config)) => Some(Received { number, config }),
        None => {
            error!(path = %path.display(), "the locally kept revision is damaged; ignoring it");
            None
        }
    }
}

/// Keeps `received` as the last good revision: written aside, flushed, renamed, on the
/// blocking pool (the fsyncs must not stall the runtime's threads).
pub(crate) async fn write_last_good(dir: &Path, received: &Received) -> std::io::Result<()> {
    let document = json!({ "revision": received.number, "config": received.config }).to_string();
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let temporary = dir.join(format!("{LAST_GOOD}.tmp"));
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(document.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, dir.join(LAST_GOOD))?;
        std::fs::File::open(&dir)?.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_good_revision_survives_a_round_trip_and_damage_is_ignored() {
        let dir = std::env::temp_dir().join(format!("sluice-follow-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        assert!(read_last_good(&dir).is_none());
        let received = Received {
            number: 7,
            config: json!({ "name": "x", "bindings": {} }),
        };
        write_last_good(&dir, &received).await.expect("written");
        let back = read_last_good(&dir).expect("read back");
        assert_eq!(back.number, 7);
        assert_eq!(back.config, received.config);
        std::fs::write(dir.join(LAST_GOOD), "{\"revision\": 7, \"conf").expect("damaged");
        assert!(read_last_good(&dir).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
