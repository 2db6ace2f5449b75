use super::listed;
use crate::config::parse;
use actix_web::http::header::HeaderValue;

/// An origin is listed only exactly as the browser sends it.
#[test]
fn an_origin_is_listed_only_as_sent() {
    let config = parse(
        "[server]\ncors_origins = [\"https://desk.cu.example\", \"http://localhost:5173\"]\n",
        Vec::new(),
    )
    .unwrap();
    for (origin, want) in [
        ("https://desk.cu.example", true),
        ("http://localhost:5173", true),
        ("https://desk.cu.example:443", false),
        ("https://desk.cu.example/", false),
        ("http://desk.cu.example", false),
        ("https://DESK.cu.example", false),
        ("http://localhost", false),
        ("null", false),
    ] {
        assert_eq!(
            listed(&config, &HeaderValue::from_static(origin)),
            want,
            "{origin}"
        );
    }
}
