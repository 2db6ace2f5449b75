use tracing::Level;

use super::{escape_controls, for_journal, names_stream, priority};

/// `JOURNAL_STREAM` is `DEVICE:INODE` in decimal; anything else, or another stream's
/// numbers, is not stderr.
#[test]
fn journal_stream_names_a_stream_by_device_and_inode() {
    for (value, named) in [
        ("64769:1234", true),
        ("64769:1235", false),
        ("64768:1234", false),
        ("1234:64769", false),
        ("64769", false),
        ("", false),
        (":", false),
        ("64769:1234:1", false),
        (" 64769:1234", false),
        ("0x fd01:1234", false),
    ] {
        assert_eq!(names_stream(value, 64769, 1234), named, "{value:?}");
    }
}

/// syslog's priorities, as journald reads them from a line's `<N>`.
#[test]
fn levels_map_to_syslog_priorities() {
    for (level, p) in [
        (Level::ERROR, 3),
        (Level::WARN, 4),
        (Level::INFO, 6),
        (Level::DEBUG, 7),
        (Level::TRACE, 7),
    ] {
        assert_eq!(priority(&level), p, "{level}");
    }
}

/// Every line of a message gets the priority, since the journal takes each line as a
/// record of its own.
#[test]
fn every_line_of_a_message_for_the_journal_has_its_priority() {
    for (level, text, lines) in [
        (
            Level::ERROR,
            "callvault: no store",
            "<3>callvault: no store\n",
        ),
        (
            Level::ERROR,
            "callvault: 2 problems:\n  a: x\n  b: y",
            "<3>callvault: 2 problems:\n<3>  a: x\n<3>  b: y\n",
        ),
        (Level::WARN, "warning: w\n", "<4>warning: w\n"),
    ] {
        assert_eq!(for_journal(&level, text), lines, "{text:?}");
    }
}

/// Control characters written as a Rust string writes them; every other character, line
/// separators and non-ASCII letters among them, as it is.
#[test]
fn control_characters_are_escaped_and_nothing_else() {
    for (text, escaped) in [
        ("members.csv", "members.csv"),
        ("", ""),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\u{1b}[31mred", "\\u{1b}[31mred"),
        ("bell\u{7}", "bell\\u{7}"),
        ("del\u{7f}", "del\\u{7f}"),
        ("c1\u{9b}31m", "c1\\u{9b}31m"),
        ("José Zoë", "José Zoë"),
        ("quote\" back\\slash", "quote\" back\\slash"),
    ] {
        assert_eq!(escape_controls(text), escaped, "{text:?}");
    }
}
