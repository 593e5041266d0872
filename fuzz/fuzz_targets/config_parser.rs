//! The configuration parser and compiler: any text gives a table or located errors, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_shared::spec::parse_config_with_env;
use sluice_shared::{CompileOptions, RouteTable};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| (name == "SET").then(|| "value".to_owned());
    match parse_config_with_env(text, &env) {
        Ok(spec) => {
            if let Err(errors) = RouteTable::compile(&spec, &CompileOptions::default()) {
                for error in errors.iter() {
                    assert!(error.pointer.is_empty() || error.pointer.starts_with('/'));
                }
            }
        }
        Err(errors) => assert!(errors.iter().next().is_some(), "a refusal says why"),
    }
});
