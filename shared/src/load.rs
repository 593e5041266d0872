//! A document read and compiled in one pass: [`load_config`].

use crate::error::ConfigErrors;
use crate::spec::{ConfigSpec, parse_partial};
use crate::table::{CompileOptions, RouteTable};

/// Parses and compiles a document in one pass and reports every error: the shape errors
/// of the parts that could not be read and the meaning errors of all the others (a refused
/// binding does not hide a dangling exit elsewhere).
pub fn load_config(
    text: &str,
    options: &CompileOptions,
) -> Result<(ConfigSpec, RouteTable), ConfigErrors> {
    load_config_with_env(text, options, &|name| std::env::var(name).ok())
}

/// [`load_config`], resolving `${{env.NAME}}` with `env`.
pub fn load_config_with_env(
    text: &str,
    options: &CompileOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(ConfigSpec, RouteTable), ConfigErrors> {
    let (spec, mut errors) = parse_partial(text, env);
    let Some(spec) = spec else {
        return Err(errors);
    };
    match RouteTable::compile(&spec, options) {
        Ok(table) => errors.into_result((spec, table)),
        Err(more) => {
            for error in more.0 {
                if !errors.iter().any(|seen| *seen == error) {
                    errors.0.push(error);
                }
            }
            Err(errors)
        }
    }
}
