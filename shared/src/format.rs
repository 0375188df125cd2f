//! Message formatting: `*bold*` and `_italic_` (the chat channel's rich text), parsed into spans that the UIs
//! render as text nodes, so no message can ever inject HTML.
//!
//! A marker opens only before a non-space character and closes only after one, inside a single line, so
//! `2 * 3 * 4`, `snake_case_name` and `a * b` stay plain.
//!
//! Also how sizes, durations and times read to people.

use crate::ids::Millis;
use serde::{Deserialize, Serialize};

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
}

/// Splits `text` into styled spans. The markers themselves are dropped; unmatched markers stay as text.
pub fn spans(text: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let push = |out: &mut Vec<Span>, text: &str, bold: bool, italic: bool| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.bold == bold && last.italic == italic => last.text.push_str(text),
            _ => out.push(Span { text: text.to_owned(), bold, italic }),
        }
    };
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            push(&mut out, "\n", false, false);
        }
        styled_line(line, false, false, &mut |t, b, i| push(&mut out, t, b, i));
    }
    out
}

fn styled_line(line: &str, bold: bool, italic: bool, emit: &mut dyn FnMut(&str, bool, bool)) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut plain_from = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let opens = (c == '*' && !bold) || (c == '_' && !italic);
        let before_ok = i == 0 || !chars[i - 1].1.is_alphanumeric();
        let next_ok = chars.get(i + 1).is_some_and(|(_, n)| !n.is_whitespace() && *n != c);
        if opens && before_ok && next_ok {
            // Find the closing marker: after a non-space, not followed by a letter or digit.
            let close = (i + 2..chars.len()).find(|&j| {
                chars[j].1 == c
                    && !chars[j - 1].1.is_whitespace()
                    && chars.get(j + 1).is_none_or(|(_, n)| !n.is_alphanumeric())
            });
            if let Some(j) = close {
                emit(&line[plain_from..at], bold, italic);
                let inner = &line[at + c.len_utf8()..chars[j].0];
                styled_line(inner, bold || c == '*', italic || c == '_', emit);
                i = j + 1;
                plain_from = chars.get(i).map_or(line.len(), |(p, _)| *p);
                continue;
            }
        }
        i += 1;
    }
    emit(&line[plain_from..], bold, italic);
}

/// A file size as people read it: `512 B`, `12 KB`, `3.4 MB`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", b.div_ceil(1024)),
        // Tenths in integers: float formatting would add kilobytes of code to the widget.
        b => {
            let tenths = (b * 10 + 512 * 1024) / (1024 * 1024);
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    }
}

/// A countdown or a duration as a clock shows it: `4:05`, `1:02:03` (negative is `0:00`).
pub fn clock_duration(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// A time as JavaScript's `Date.toISOString()` writes it, `2026-12-02T11:28:40.123Z`: UTC, always with
/// milliseconds, so exports read the same whichever side made them. Years outside 0000-9999 are written
/// `+010000` / `-000001` as JavaScript does.
pub fn iso_8601(ms: Millis) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) =
        (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
    let year = match year {
        0..=9999 => format!("{year:04}"),
        ..0 => format!("-{:06}", -year),
        _ => format!("+{year:06}"),
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`): eras of 400
/// years, each starting on March 1st so the leap day comes last.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_javascripts_to_iso_string() {
        // Each checked against `new Date(ms).toISOString()` in Node.
        for (ms, iso) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_796_210_920_123, "2026-12-02T11:28:40.123Z"),
            (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
            (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
            (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"),
            (-62_167_219_200_001, "-000001-12-31T23:59:59.999Z"),
            (8_640_000_000_000_000, "+275760-09-13T00:00:00.000Z"),
            (-8_640_000_000_000_000, "-271821-04-20T00:00:00.000Z"),
        ] {
            assert_eq!(iso_8601(ms), iso, "{ms}");
        }
        assert!(iso_8601(i64::MAX).ends_with('Z') && iso_8601(i64::MIN).ends_with('Z'), "no overflow");
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(clock_duration(-5), "0:00");
        assert_eq!(clock_duration(999), "0:00");
        assert_eq!(clock_duration(245_000), "4:05");
        assert_eq!(clock_duration(3_723_000), "1:02:03");
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1025), "2 KB");
        assert_eq!(human_size(3_565_158), "3.4 MB");
        assert_eq!(human_size(100 * 1024 * 1024), "100.0 MB");
    }

    fn styled(text: &str) -> Vec<(String, bool, bool)> {
        spans(text).into_iter().map(|s| (s.text, s.bold, s.italic)).collect()
    }

    #[test]
    fn bold_and_italic_markers_style_their_text() {
        assert_eq!(
            styled("Your order is *shipped* and _on its way_."),
            vec![
                ("Your order is ".into(), false, false),
                ("shipped".into(), true, false),
                (" and ".into(), false, false),
                ("on its way".into(), false, true),
                (".".into(), false, false),
            ]
        );
        assert_eq!(styled("*_both_*"), vec![("both".into(), true, true)]);
    }

    #[test]
    fn arithmetic_identifiers_and_unmatched_markers_stay_plain() {
        for plain in
            ["2 * 3 * 4", "snake_case_name", "a * b", "*not closed", "price_2024_final", "** nothing **"]
        {
            assert_eq!(styled(plain), vec![(plain.to_owned(), false, false)], "{plain}");
        }
    }

    #[test]
    fn markers_do_not_cross_lines_and_html_is_just_text() {
        assert_eq!(styled("*a\nb*"), vec![("*a\nb*".into(), false, false)]);
        assert_eq!(styled("<b>hi</b>"), vec![("<b>hi</b>".into(), false, false)]);
    }
}
