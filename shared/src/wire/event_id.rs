//! SSE event ids: what `Last-Event-ID` may hold.

use super::etag::decode_progress;

/// `progress`, `progress/etag`, `["key","progress"]` or `["key","progress/etag"]`.
pub fn parse_last_event_id(id: &str) -> Option<Vec<(i32, i64)>> {
    let progress = if id.starts_with('[') {
        let parts: Vec<Option<String>> = serde_json::from_str(id).ok()?;
        parts.get(1)?.clone()?
    } else {
        id.to_owned()
    };
    let progress = progress.split('/').next().unwrap_or_default();
    decode_progress(progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::etag::encode_progress;

    #[test]
    fn last_event_id_forms() {
        let progress = encode_progress(&[(0, 5), (1, 7)]);
        let expected = Some(vec![(0, 5), (1, 7)]);
        assert_eq!(parse_last_event_id(&progress), expected);
        assert_eq!(parse_last_event_id(&format!("{progress}/rev-3")), expected);
        assert_eq!(
            parse_last_event_id(&format!("[\"a2V5\",\"{progress}\"]")),
            expected
        );
        assert_eq!(
            parse_last_event_id(&format!("[null,\"{progress}/x\"]")),
            expected
        );
        assert_eq!(parse_last_event_id("garbage"), None);
        assert_eq!(parse_last_event_id("[1,2"), None);
    }
}
