//! Small formatting helpers for messages people read.

use std::time::Duration;

/// `1.5s`, `2s`, `250ms`, `3m 20s`: the shortest exact-enough form.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = d.as_secs_f64();
        if ms.is_multiple_of(1000) {
            format!("{}s", ms / 1000)
        } else {
            format!("{s:.1}s")
        }
    } else {
        format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// `secs` after the Unix epoch as a UTC stamp that sorts as text and names a file:
/// `20261206T183005Z`.
pub fn utc_stamp(secs: u64) -> String {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The innermost cause of an error: client libraries wrap the reason ("connection
/// refused", "certificate expired") several layers down under messages that repeat
/// what was asked.
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// An error and all its causes, `outer: inner: innermost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Reads a number of seconds given by a script (integer or float) as a `Duration`.
pub fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && (0.0..=365.0 * 86_400.0).contains(&value))
        .then(|| Duration::from_secs_f64(value))
}

/// `d` as Go's `time.Duration` prints it (`850µs`, `9.203461ms`, `5.002293944s`,
/// `1m2.5s`): how etcdctl writes a health check's `took`, so output can be compared.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    // The fraction of `value / unit`, without trailing zeros.
    let decimal = |value: u128, unit: u128| {
        let whole = value / unit;
        let digits = unit.ilog10() as usize;
        let fraction = format!("{:0digits$}", value % unit);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{fraction}")
        }
    };
    match nanos {
        0 => "0s".to_string(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", decimal(n, 1_000)),
        n if n < 1_000_000_000 => format!("{}ms", decimal(n, 1_000_000)),
        n => {
            let (hours, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
            let (minutes, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
            let seconds = format!("{}s", decimal(rest, 1_000_000_000));
            match (hours, minutes) {
                (0, 0) => seconds,
                (0, m) => format!("{m}m{seconds}"),
                (h, m) => format!("{h}h{m}m{seconds}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_secs(2)), "2s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_secs(200)), "3m 20s");
    }

    #[test]
    fn seconds_rejects_negative_and_absurd_values() {
        assert_eq!(seconds(1.5), Some(Duration::from_millis(1500)));
        assert_eq!(seconds(-1.0), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(1e12), None);
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        let ns = Duration::from_nanos;
        assert_eq!(go_duration(ns(0)), "0s");
        assert_eq!(go_duration(ns(999)), "999ns");
        assert_eq!(go_duration(ns(850_000)), "850µs");
        assert_eq!(go_duration(ns(9_203_461)), "9.203461ms");
        assert_eq!(go_duration(ns(5_002_293_944)), "5.002293944s");
        assert_eq!(go_duration(ns(62_500_000_000)), "1m2.5s");
        assert_eq!(go_duration(ns(3_600_000_000_000)), "1h0m0s");
    }
}

#[cfg(test)]
mod stamp_tests {
    #[test]
    fn utc_stamps_are_civil_dates() {
        assert_eq!(super::utc_stamp(0), "19700101T000000Z");
        assert_eq!(super::utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(super::utc_stamp(1_796_582_705), "20261206T184505Z");
    }
}
