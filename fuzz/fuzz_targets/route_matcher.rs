//! Path templates: parsing any text, and matching any path, never panics; a template
//! without parameters or wildcards matches exactly itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_shared::path::{PathTemplate, wildcard_match};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, path) = text.split_once('\n').unwrap_or((text, text));
    if let Ok(parsed) = PathTemplate::parse(template) {
        let _ = parsed.matches(path);
        if !template.contains(['{', '*']) {
            assert!(parsed.matches(template).is_some(), "a literal template matches itself");
        }
    }
    let _ = wildcard_match(template, path);
});
