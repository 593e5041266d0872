//! `port` values of `tcp` bindings: `8080`, `[8080, 8081]` or `"8080-8089"`.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Largest number of ports one range may name, so a typo cannot bind thousands of sockets.
const MAX_RANGE: u32 = 256;

/// One port, a list of ports, or an inclusive range, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// `8080`.
    One(u16),
    /// `[8080, 8081]`.
    List(Vec<u16>),
    /// `"8080-8089"`.
    Range(u16, u16),
}

impl PortSpec {
    /// Every port named, in order.
    pub fn ports(&self) -> Vec<u16> {
        match self {
            Self::One(port) => vec![*port],
            Self::List(ports) => ports.clone(),
            Self::Range(from, to) => (*from..=*to).collect(),
        }
    }
}

impl Serialize for PortSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(port) => serializer.serialize_u16(*port),
            Self::List(ports) => ports.serialize(serializer),
            Self::Range(from, to) => serializer.serialize_str(&format!("{from}-{to}")),
        }
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PortVisitor)
    }
}

struct PortVisitor;

fn port<E: de::Error>(value: u64) -> Result<u16, E> {
    match u16::try_from(value) {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(E::custom(format!("port {value} is not in 1..=65535"))),
    }
}

impl<'de> Visitor<'de> for PortVisitor {
    type Value = PortSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port number, a list of port numbers, or a \"from-to\" range")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<PortSpec, E> {
        port(value).map(PortSpec::One)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<PortSpec, E> {
        Err(E::custom(format!("port {value} is not in 1..=65535")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<PortSpec, E> {
        let parse = |text: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| E::custom(format!("'{value}' is not a port or a \"from-to\" range")))
                .and_then(port)
        };
        match value.split_once('-') {
            None => parse(value).map(PortSpec::One),
            Some((from, to)) => {
                let (from, to) = (parse(from)?, parse(to)?);
                if from > to {
                    return Err(E::custom(format!("port range '{value}' is empty")));
                }
                if u32::from(to - from) >= MAX_RANGE {
                    return Err(E::custom(format!(
                        "port range '{value}' names more than {MAX_RANGE} ports"
                    )));
                }
                Ok(PortSpec::Range(from, to))
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PortSpec, A::Error> {
        let mut ports = Vec::new();
        while let Some(value) = seq.next_element::<u64>()? {
            ports.push(port(value)?);
        }
        if ports.is_empty() {
            return Err(de::Error::custom("the list of ports is empty"));
        }
        Ok(PortSpec::List(ports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<PortSpec, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_number_list_and_range() {
        assert_eq!(parse("8080"), Ok(PortSpec::One(8080)));
        assert_eq!(parse("[1, 2]"), Ok(PortSpec::List(vec![1, 2])));
        assert_eq!(parse("\"10-12\""), Ok(PortSpec::Range(10, 12)));
        assert_eq!(parse("\"10-12\"").map(|p| p.ports()), Ok(vec![10, 11, 12]));
    }

    #[test]
    fn rejects_out_of_range_and_empty() {
        assert!(parse("0").unwrap_err().contains("not in 1..=65535"));
        assert!(parse("70000").unwrap_err().contains("not in 1..=65535"));
        assert!(parse("\"12-10\"").unwrap_err().contains("empty"));
        assert!(parse("[]").unwrap_err().contains("empty"));
        assert!(parse("\"1-60000\"").unwrap_err().contains("more than"));
        assert!(parse("\"abc\"").unwrap_err().contains("not a port"));
    }
}
