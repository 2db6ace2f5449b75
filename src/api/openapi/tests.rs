use super::{document, meant_path};

#[test]
fn the_document_bounds_a_call_s_ani_and_dnis_as_the_service_does() {
    let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
    let start = &doc["components"]["schemas"]["StartCall"]["properties"];
    for field in ["ani", "dnis"] {
        assert_eq!(
            start[field]["maxLength"],
            serde_json::json!(crate::calls::NUMBER_FIELD_MAX),
            "{field}: {}",
            start[field]
        );
        assert!(start[field]["pattern"].is_string(), "{field}");
    }
}

/// An input's `step` as the handler takes it: a whole number, its digits as a string, or
/// null (schemathesis sends the document's every form, and what it forbids must be refused).
#[test]
fn the_document_says_an_input_s_step_may_be_a_number_or_its_digits() {
    let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
    let input = &doc["components"]["schemas"]["CallInput"]["allOf"][0]["properties"];
    let choices = input["step"]["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{input}"));
    let kinds: Vec<(&str, Option<&str>, Option<i64>)> = choices
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or_default(),
                c["pattern"].as_str(),
                c["minimum"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("integer", None, Some(0)),
            ("string", Some("^[0-9]{0,19}$"), None),
            ("null", None, None),
        ]
    );
}

#[test]
fn a_path_that_is_no_endpoint_is_told_the_one_likely_meant() {
    for (path, want) in [
        ("/v1/call", Some("/v1/calls")),
        ("/v1/calls/", Some("/v1/calls")),
        ("/v1/Calls/c-7/input", Some("/v1/calls/c-7/input")),
        ("/v1/call/c-7/inputs", Some("/v1/calls/c-7/input")),
        (
            "/v1/calls/c-7/checklists/dob",
            Some("/v1/calls/c-7/checklist/dob"),
        ),
        ("/v1/challenges/ch1/chek", Some("/v1/challenges/ch1/check")),
        ("/v1/members/1001/unlok", Some("/v1/members/1001/unlock")),
        ("/v1/admin/key", Some("/v1/admin/keys")),
        ("/redyz", Some("/readyz")),
        ("/openapi.jsn", Some("/openapi.json")),
        // nothing near, or a parameter left out: no guess
        ("/v2/calls", None),
        ("/v1/calls//input", None),
        ("/calls", None),
        ("/", None),
        ("/v1/whatever/x/y/z", None),
        // an endpoint is not "meant" as itself
        ("/v1/calls", None),
    ] {
        assert_eq!(meant_path(path).as_deref(), want, "{path}");
    }
}

/// A 405's `Allow`: the document's methods for the path, in RFC 9110's order, and HEAD beside
/// GET, which the router takes as well; unknown patterns have none.
#[test]
fn the_allow_header_lists_head_beside_get() {
    for (pattern, allow) in [
        ("/livez", Some("GET, HEAD")),
        ("/v1/calls", Some("GET, HEAD, POST")),
        ("/v1/calls/{call_id}", Some("GET, HEAD, DELETE")),
        ("/v1/admin/keys", Some("GET, HEAD, POST")),
        ("/v1/admin/reload", Some("POST")),
        ("/v1/admin/keys/{name}", Some("DELETE")),
        ("/v1/nothing", None),
    ] {
        assert_eq!(super::allowed_methods(pattern), allow, "{pattern}");
    }
}
