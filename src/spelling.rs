//! The nearest known word to one that is not known, for "did you mean" hints: a misspelt
//! configuration key (`server.lisen`), a pre-enrollment column (`frist_name`).

/// The choice closest to `word`, if one is close enough to be what was meant: a slip of a
/// key or two (a letter missed, added, changed, or two swapped, counted by Damerau-Levenshtein
/// distance), more for a longer word. Case and `-` for `_` are not slips. Ties go to the
/// earlier choice; `word` itself is never offered.
pub fn nearest<'a>(word: &str, choices: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let plain = |s: &str| s.to_lowercase().replace('-', "_");
    let wanted = plain(word);
    let length = wanted.chars().count();
    let allowed = match length {
        0..=2 => 0,
        3..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    choices
        .into_iter()
        .filter(|choice| *choice != word)
        // lengths further apart than the slips allowed cannot be near: a long word (a
        // header cell of any size) is not compared at all
        .filter(|choice| choice.chars().count().abs_diff(length) <= allowed)
        .map(|choice| (strsim::damerau_levenshtein(&wanted, &plain(choice)), choice))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, choice)| choice)
}

/// As [`nearest`]; failing that, the one choice `word` begins (at least three letters): a
/// value cut short, such as `hash` for `hashed` or `enc` for `encrypted`. For a word that
/// must be one of a few fixed values, where a completion cannot be a different thing meant.
pub fn nearest_or_completion<'a>(
    word: &str,
    choices: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    if let Some(near) = nearest(word, choices.clone()) {
        return Some(near);
    }
    let start = word.to_lowercase();
    if start.chars().count() < 3 {
        return None;
    }
    let mut completions = choices
        .into_iter()
        .filter(|choice| choice.to_lowercase().starts_with(&start) && *choice != word);
    match (completions.next(), completions.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{nearest, nearest_or_completion};

    const KEYS: [&str; 6] = [
        "listen",
        "workers",
        "state_dir",
        "min_correct",
        "first_name",
        "dob",
    ];

    #[test]
    fn a_slip_finds_the_key_and_a_stranger_finds_nothing() {
        for (word, want) in [
            ("lisen", Some("listen")),        // a letter missed
            ("listenn", Some("listen")),      // one added
            ("wrokers", Some("workers")),     // two swapped
            ("statedir", Some("state_dir")),  // the underscore left out
            ("state-dir", Some("state_dir")), // a dash for the underscore is no slip at all
            ("Min_Correct", Some("min_correct")),
            ("mincorect", Some("min_correct")), // two slips in a long word
            ("frist_name", Some("first_name")),
            ("dbo", Some("dob")), // a short word takes one slip
            ("do", None),         // two letters are too few to guess from
            ("db", None),
            ("bogus", None),
            ("wk", None),
            ("stat", None),        // two slips in a short word are too many
            ("lxstxx", None),      // three slips in a word of 6 to 8 letters are too many
            ("listen", None),      // a known word is not "meant" as itself
            ("listen_____", None), // five slips, where eleven letters allow three
        ] {
            assert_eq!(nearest(word, KEYS), want, "{word}");
        }
    }

    #[test]
    fn a_value_cut_short_is_completed_when_one_choice_begins_so() {
        let modes = ["hashed", "encrypted"];
        let roles = ["ivr", "agent", "app", "admin"];
        let on_conflict = ["activation_list", "activation", "force_change"];
        for (word, choices, want) in [
            ("hash", &modes[..], Some("hashed")),
            ("HASH", &modes[..], Some("hashed")),
            ("enc", &modes[..], Some("encrypted")),
            ("encrypt", &modes[..], Some("encrypted")),
            ("hashd", &modes[..], Some("hashed")), // a slip still comes first
            ("en", &modes[..], None),              // two letters are too few
            ("plain", &modes[..], None),
            ("hashed", &modes[..], None), // a choice is not "meant" as itself
            ("adm", &roles[..], Some("admin")),
            ("ag", &roles[..], None),
            ("activ", &on_conflict[..], None), // two choices begin so: no guess
            ("force_ch", &on_conflict[..], Some("force_change")),
            ("force", &on_conflict[..], Some("force_change")),
        ] {
            assert_eq!(
                nearest_or_completion(word, choices.iter().copied()),
                want,
                "{word}"
            );
        }
    }

    #[test]
    fn the_closest_wins_and_a_tie_goes_to_the_first() {
        assert_eq!(nearest("pins", ["pin_x", "pin"]), Some("pin"));
        assert_eq!(nearest("cat", ["bat", "hat"]), Some("bat"));
        assert_eq!(nearest("cat", ["hat", "bat"]), Some("hat"));
        assert_eq!(nearest("anything", []), None);
    }
}
