//! `{name}` templates for messages, gateway bodies and URLs. A template names only the
//! placeholders its place allows (`config check` says which are unknown); `{{` and `}}` are
//! literal braces, so a JSON body can be written as it is sent.

/// The placeholders a template uses, in order (duplicates kept), or the first syntax error.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.as_bytes().first() == Some(&c) {
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            return Err("a lone `}` (write `}}` for a brace)".into());
        }
        let Some(end) = after.find('}') else {
            return Err("a `{` is not closed (write `{{` for a brace)".into());
        };
        let name = &after[..end];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!("{{{name}}} is not a placeholder name"));
        }
        out.push(name);
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Check a template against the placeholders its place allows and those it must use.
pub fn check(template: &str, allowed: &[&str], required: &[&str]) -> Result<(), String> {
    let used = placeholders(template)?;
    if let Some(unknown) = used.iter().find(|u| !allowed.contains(u)) {
        let names: Vec<String> = allowed.iter().map(|a| format!("{{{a}}}")).collect();
        return Err(format!(
            "{{{unknown}}} is not one of {}",
            if names.is_empty() {
                "(none here)".into()
            } else {
                names.join(", ")
            }
        ));
    }
    if let Some(missing) = required.iter().find(|r| !used.contains(r)) {
        return Err(format!("must contain {{{missing}}}"));
    }
    Ok(())
}

/// Fill a template; each value goes through `escape` (JSON string, URL component, none).
/// An unknown placeholder is left as written (`config check` has refused such templates).
pub fn render(template: &str, vars: &[(&str, &str)], escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.as_bytes().first() == Some(&c) {
            out.push(char::from(c));
            rest = &after[1..];
            continue;
        }
        match (c, after.find('}')) {
            (b'{', Some(end)) => {
                let name = &after[..end];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(&escape(v)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push(char::from(c));
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A value inside a JSON string literal (the template supplies the quotes).
pub fn json_escape(v: &str) -> String {
    let quoted = serde_json::Value::String(v.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// A value in a URL query or an `application/x-www-form-urlencoded` body.
pub fn form_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub fn no_escape(v: &str) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_escapes() {
        let cases: &[(&str, Result<Vec<&str>, &str>)] = &[
            ("Code {code}", Ok(vec!["code"])),
            ("{{\"to\": \"{to}\"}}", Ok(vec!["to"])),
            ("{to}{text}{to}", Ok(vec!["to", "text", "to"])),
            ("plain", Ok(vec![])),
            ("{code", Err("not closed")),
            ("code}", Err("lone")),
            ("{Code}", Err("not a placeholder")),
            ("{}", Err("not a placeholder")),
        ];
        for (t, want) in cases {
            match (placeholders(t), want) {
                (Ok(got), Ok(w)) => assert_eq!(&got, w, "{t}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{t}: {e}"),
                (got, w) => panic!("{t}: {got:?} vs {w:?}"),
            }
        }
    }

    #[test]
    fn render_escapes_each_value_for_its_place() {
        let vars = [("to", "+15551234567"), ("text", "Code \"1\" & more\n")];
        assert_eq!(
            render(
                "{{\"to\":\"{to}\",\"text\":\"{text}\"}}",
                &vars,
                json_escape
            ),
            "{\"to\":\"+15551234567\",\"text\":\"Code \\\"1\\\" & more\\n\"}"
        );
        assert_eq!(
            render("to={to}&text={text}", &vars, form_escape),
            "to=%2B15551234567&text=Code+%221%22+%26+more%0A"
        );
        assert_eq!(render("{x} {to}", &vars, no_escape), "{x} +15551234567");
        // config check refuses lone braces; were one to reach a message, it stays as written
        assert_eq!(
            render("a } b {to} {to", &vars, no_escape),
            "a } b +15551234567 {to"
        );
        assert_eq!(render("}}{{}", &vars, no_escape), "}{}");
    }

    #[test]
    fn check_names_unknown_and_missing_placeholders() {
        assert!(check("{code}", &["code", "minutes"], &["code"]).is_ok());
        let e = check("{pin}", &["code"], &[]).unwrap_err();
        assert!(e.contains("{pin} is not one of {code}"), "{e}");
        let e = check("hello", &["code"], &["code"]).unwrap_err();
        assert!(e.contains("must contain {code}"), "{e}");
        let e = check("{code}", &[], &[]).unwrap_err();
        assert_eq!(e, "{code} is not one of (none here)");
        let e = check("{to}{pin}", &["to", "text"], &["to"]).unwrap_err();
        assert_eq!(e, "{pin} is not one of {to}, {text}");
        let e = check("{to}{{code}}", &["to", "code"], &["code"]).unwrap_err();
        assert_eq!(
            e, "must contain {code}",
            "a brace written twice is no placeholder"
        );
    }
}
