use super::*;

/// A `member forget` answer from a service older than `held` (the CLI upgraded first) reads
/// as before: something was forgotten. A newer one says whether anything was held.
#[test]
fn a_forgotten_answer_without_held_reads_as_held() {
    let old = r#"{"result":"forgotten","member_id":"5001","pins":0}"#;
    let new = r#"{"result":"forgotten","member_id":"5001","pins":0,"held":false}"#;
    for (text, held) in [(old, true), (new, false)] {
        assert_eq!(
            serde_json::from_str::<Response>(text).unwrap(),
            Response::Forgotten {
                member_id: "5001".into(),
                pins: 0,
                held
            },
            "{text}"
        );
    }
}
