//! Reading Sluice's Prometheus text back as OTLP data points: the families and their
//! types, and each sample's value with its labels as attributes.

use opentelemetry::KeyValue;

/// Every family of a Prometheus text with its type.
pub(super) fn families(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.trim().to_owned()))
        .collect()
}

/// The samples of the series `name`: values with their labels.
pub(super) fn samples(text: &str, name: &str) -> Vec<(f64, Vec<KeyValue>)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(labelled) => labelled.rsplit_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            let value: f64 = value.trim().parse().ok()?;
            Some((value, labels_of(labels)))
        })
        .collect()
}

/// `a="x",b="y"` as attributes (values unescaped).
fn labels_of(text: &str) -> Vec<KeyValue> {
    let mut labels = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = at + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        labels.push(KeyValue::new(key.trim_start_matches(',').to_owned(), value));
        rest = &after[end..];
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_their_labels() {
        let text = "# TYPE sluice_x counter\nsluice_x{binding=\"a\\\"b\",route=\"1\"} 3\nsluice_x 4\nsluice_xy 9\n";
        assert_eq!(
            families(text),
            vec![("sluice_x".to_owned(), "counter".to_owned())]
        );
        let found = samples(text, "sluice_x");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, 3.0);
        assert_eq!(
            found[0].1,
            vec![
                KeyValue::new("binding", "a\"b"),
                KeyValue::new("route", "1")
            ]
        );
        assert_eq!(found[1], (4.0, Vec::new()));
    }
}
