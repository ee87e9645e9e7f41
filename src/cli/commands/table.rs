//! etcdctl's bordered tables (`-w table`, drawn by its tablewriter): a rule, the headers
//! centred, a rule, one line a row, a rule; each column as wide as its widest cell.

/// How a column's cells sit in their width; headers are always centred.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// The table of `rows` under `headers`, column `i` aligned as `align(i)` says.
pub fn bordered(headers: &[&str], rows: &[Vec<String>], align: impl Fn(usize) -> Align) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule = format!(
        "+{}+\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut out = rule.clone();
    out.push_str(&line(
        headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| format!("{h:^w$}"))
            .collect(),
    ));
    out.push_str(&rule);
    for row in rows {
        out.push_str(&line(
            row.iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| match align(i) {
                    Align::Right => format!("{cell:>w$}"),
                    Align::Left => format!("{cell:<w$}"),
                })
                .collect(),
        ));
    }
    out.push_str(&rule);
    out
}
