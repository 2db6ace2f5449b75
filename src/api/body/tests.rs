use super::*;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Find {
    ani: String,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    limit: Option<u32>,
}

#[test]
fn query_refusals_name_the_parameter() {
    let cases = [
        (
            "ani=1&active=maybe",
            "`active`: provided string was not `true` or `false`",
        ),
        ("ani=1&limit=ten", "`limit`: invalid digit"),
        ("active=true", ": missing field `ani`"),
        ("ani=1&colour=red", ": unknown field `colour`"),
    ];
    for (text, says) in cases {
        let refused = Query::<Find> {
            text: text.into(),
            _of: PhantomData,
        }
        .parse()
        .expect_err("a refusal")
        .body();
        assert_eq!(refused.code, "bad_query");
        assert!(
            refused
                .message
                .starts_with("the query string is malformed: ")
                && refused.message.contains(says),
            "{text}: {}",
            refused.message
        );
    }
    let fine = Query::<Find> {
        text: "ani=%2B16122030101&active=true".into(),
        _of: PhantomData,
    }
    .parse()
    .expect("a good query");
    assert_eq!(
        (fine.ani.as_str(), fine.active, fine.limit),
        ("+16122030101", true, None)
    );
}
