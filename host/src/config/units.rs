//! Durations (`"30s"`, `"1m30s"`) and sizes (`"256KiB"`) as experiment files write them.
//!
//! Owns the two small grammars and their error wording. Knows nothing about TOML or spans:
//! the caller turns an `Err(String)` into a located diagnostic.

use std::time::Duration;

/// The largest duration an experiment may state: a week. Longer is always a typo, and a
/// bound keeps the arithmetic on deadlines far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The largest `files[].size`: the host writes these files to disk before each test.
pub const MAX_FILE_SIZE: u64 = 4 << 30;

/// Parses `"500ms"`, `"30s"`, `"2m"`, `"1h"`, `"1d"` and sums of them such as `"1m30s"`.
/// Fractions (`"1.5s"`) are accepted; a bare number is not, because it hides its unit.
///
/// # Errors
/// A message saying what part is wrong, lower-case, without location.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("`{s}` does not start with a number"));
        }
        let (num, after) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| format!("`{num}` is not a number"))?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit.trim() {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "" => return Err(format!("`{num}` has no unit; write `{num}s`, `{num}m` or `{num}ms`")),
            other => return Err(format!("unknown unit `{other}`; use ms, s, m, h or d")),
        };
        total += value * factor;
        rest = next;
    }
    if total > MAX_DURATION.as_secs_f64() {
        return Err(format!("`{s}` is longer than the maximum of 7d"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way [`parse_duration`] reads it (`1m30s`, `500ms`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, n) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= n {
            out.push_str(&format!("{}{unit}", secs / n));
            secs %= n;
        }
    }
    out
}

/// Parses `"256KiB"`, `"1MiB"`, `"10MB"`, `"5000"` or `"5000B"` into bytes. Binary units
/// (KiB, MiB, GiB) are powers of 1024, decimal ones (kB, MB, GB) powers of 1000; the unit is
/// case-insensitive.
///
/// # Errors
/// A message saying what part is wrong, lower-case, without location.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let num_len = s.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(s.len());
    if num_len == 0 {
        return Err(format!("`{s}` does not start with a number"));
    }
    let num: u64 = s[..num_len].replace('_', "").parse().map_err(|_| format!("`{}` is too large", &s[..num_len]))?;
    let unit = s[num_len..].trim();
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("unknown unit `{unit}`; use B, KiB, MiB, GiB, kB, MB or GB")),
    };
    let bytes = num.checked_mul(factor).ok_or_else(|| format!("`{s}` is too large"))?;
    if bytes > MAX_FILE_SIZE {
        return Err(format!("`{s}` is larger than the maximum of 4GiB"));
    }
    Ok(bytes)
}

/// Highest link rate: 100 Gbit/s, far above what a user-space relay carries.
pub const MAX_RATE: u64 = 100_000_000_000;

/// Parses a link rate into bits per second: `"10Mbps"`, `"1Gbit/s"`, `"500kbps"`,
/// `"64000bps"`, `"2.5Mbps"`. Units are decimal, as ns-3 and tc write them; `B` means bytes
/// (`"1MBps"` is 8 Mbit/s).
///
/// # Errors
/// A message saying what part is wrong, lower-case, without location.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let num_len = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(s.len());
    if num_len == 0 {
        return Err(format!("`{s}` does not start with a number"));
    }
    let value: f64 =
        s[..num_len].replace('_', "").parse().map_err(|_| format!("`{}` is not a number", &s[..num_len]))?;
    let unit = s[num_len..].trim();
    let (prefix, rest) = match unit.chars().next() {
        Some('k' | 'K') => (1e3, &unit[1..]),
        Some('M') => (1e6, &unit[1..]),
        Some('G') => (1e9, &unit[1..]),
        _ => (1.0, unit),
    };
    let per_unit = match rest {
        "bps" | "bit/s" | "b/s" | "bit" => 1.0,
        "Bps" | "B/s" => 8.0,
        "" => return Err(format!("`{s}` has no unit; write `{s}Mbps` or `{s}kbps`")),
        other => return Err(format!("unknown unit `{other}` in `{s}`; use bps, kbps, Mbps or Gbps")),
    };
    let bps = value * prefix * per_unit;
    if bps > MAX_RATE as f64 {
        return Err(format!("`{s}` is more than the maximum of 100Gbps"));
    }
    Ok(bps.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10Mbps"), Ok(10_000_000));
        assert_eq!(parse_rate("1Gbit/s"), Ok(1_000_000_000));
        assert_eq!(parse_rate("500kbps"), Ok(500_000));
        assert_eq!(parse_rate("2.5Mbps"), Ok(2_500_000));
        assert_eq!(parse_rate("1MBps"), Ok(8_000_000));
        assert_eq!(parse_rate("0Mbps"), Ok(0));
        assert!(parse_rate("10").unwrap_err().contains("no unit"));
        assert!(parse_rate("10 furlongs").unwrap_err().contains("unknown unit"));
        assert!(parse_rate("1000Gbps").unwrap_err().contains("maximum"));
    }

    // It reads every unit and sums compound durations.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 2d "), Ok(Duration::from_secs(2 * 86400)));
    }

    // It refuses numbers without units, unknown units and absurd lengths, saying why.
    #[test]
    fn bad_durations() {
        assert_eq!(parse_duration("30").unwrap_err(), "`30` has no unit; write `30s`, `30m` or `30ms`");
        assert_eq!(parse_duration("5y").unwrap_err(), "unknown unit `y`; use ms, s, m, h or d");
        assert_eq!(parse_duration("s").unwrap_err(), "`s` does not start with a number");
        assert_eq!(parse_duration("").unwrap_err(), "the duration is empty");
        assert!(parse_duration("8d").unwrap_err().contains("maximum"));
        assert!(parse_duration("1..2s").is_err());
    }

    // Formatting round-trips through parsing.
    #[test]
    fn duration_round_trip() {
        for text in ["0s", "500ms", "30s", "1m30s", "2h5s", "1d1h"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }

    // It reads binary and decimal units, case-insensitively.
    #[test]
    fn sizes() {
        assert_eq!(parse_size("256KiB"), Ok(256 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1mib"), Ok(1 << 20));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("5kB"), Ok(5000));
        assert_eq!(parse_size("5000"), Ok(5000));
        assert_eq!(parse_size("12B"), Ok(12));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
    }

    // It refuses unknown units, missing numbers and sizes over the cap.
    #[test]
    fn bad_sizes() {
        assert_eq!(parse_size("3 parsecs").unwrap_err(), "unknown unit `parsecs`; use B, KiB, MiB, GiB, kB, MB or GB");
        assert_eq!(parse_size("KiB").unwrap_err(), "`KiB` does not start with a number");
        assert!(parse_size("5GiB").unwrap_err().contains("maximum"));
        assert!(parse_size("99999999999999999999999").unwrap_err().contains("too large"));
    }
}
