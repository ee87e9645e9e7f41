//! Values as a person at the prompt wants to read them: instances and records as
//! aligned tables, maps as `key: value` lines, health reports as the seed printed them.

use rhai::{Array, Dynamic, Map};

/// `None` for values not worth printing (unit).
pub fn show(value: &Dynamic) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if let Some(map) = value.read_lock::<Map>() {
        return Some(map_text(&map));
    }
    if let Some(array) = value.read_lock::<Array>() {
        return Some(array_text(&array));
    }
    if value.is_string() {
        return Some(format!("{:?}", value.to_string()));
    }
    Some(value.to_string())
}

/// A cell or a map value: nested maps and arrays stay on one line, unit shows as `-`.
fn scalar(value: &Dynamic) -> String {
    if value.is_unit() {
        "-".into()
    } else {
        value.to_string()
    }
}

fn map_text(map: &Map) -> String {
    // A health report reads best the way etcdctl printed it.
    if let (Some(text), true) = (map.get("text"), map.contains_key("status")) {
        return text.to_string();
    }
    if map.is_empty() {
        return "#{}".into();
    }
    let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
    map.iter()
        .map(|(k, v)| format!("{k:width$}  {}", scalar(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn array_text(array: &Array) -> String {
    let maps: Vec<Map> = array
        .iter()
        .filter_map(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .collect();
    if maps.is_empty() || maps.len() != array.len() {
        return Dynamic::from(array.clone()).to_string();
    }
    // A table: the columns are the keys of the first row, in their order, then any
    // others the later rows add.
    let mut columns: Vec<String> = Vec::new();
    for m in &maps {
        for k in m.keys() {
            if !columns.iter().any(|c| c == k.as_str()) {
                columns.push(k.to_string());
            }
        }
    }
    let rows: Vec<Vec<String>> = maps
        .iter()
        .map(|m| {
            columns
                .iter()
                .map(|c| m.get(c.as_str()).map_or_else(|| "-".to_string(), scalar))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(&columns)];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Dynamic {
        rhai::Engine::new().eval::<Dynamic>(src).unwrap()
    }

    #[test]
    fn arrays_of_maps_become_tables() {
        let v = eval(
            r#"[#{name: "etcd-a", private_ip: "198.18.1.1"}, #{name: "etcd-bb", private_ip: "198.18.1.2"}]"#,
        );
        assert_eq!(
            show(&v).unwrap(),
            "name     private_ip\netcd-a   198.18.1.1\netcd-bb  198.18.1.2"
        );
    }

    #[test]
    fn maps_are_aligned_lines_and_reports_are_their_text() {
        assert_eq!(
            show(&eval("#{a: 1, long_key: true}")).unwrap(),
            "a         1\nlong_key  true"
        );
        let report =
            eval(r#"#{status: "healthy", text: "member 1 is healthy\ncluster is healthy"}"#);
        assert_eq!(
            show(&report).unwrap(),
            "member 1 is healthy\ncluster is healthy"
        );
        assert_eq!(show(&eval("()")), None);
        assert_eq!(show(&eval("\"x\"")).unwrap(), "\"x\"");
        assert_eq!(show(&eval("1 + 1")).unwrap(), "2");
    }
}
