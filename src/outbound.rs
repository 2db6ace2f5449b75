//! Requests callvault makes to other hosts: the core gateway (`core.rest.base_url`), the SMS
//! gateway (`notify.sms.url`) and the push webhook (`notify.push.url`). Which of them go
//! through a proxy ([`route`], [`proxied`]), how a failed one is told ([`failure`]), and the
//! client certificate a gateway may ask for ([`identity`]).
//!
//! As any program does, callvault sends them through the proxy the environment names
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, with `NO_PROXY` exempting hosts; as installed,
//! set in a drop-in's `Environment=`): a credit union may reach its SMS gateway only through
//! one. Never for an endpoint on this host: a proxy elsewhere cannot reach this host's
//! `localhost`, and a plain `http://` request, allowed only to this host, would carry
//! members' facts and one-time codes across the network to it.

/// The host of `url` (`http://` or `https://`), without brackets for IPv6.
pub fn host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then_some(host)
}

/// Whether `url` names this host: `localhost` or a loopback address.
pub fn on_this_host(url: &str) -> bool {
    host(url).is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// `builder`, for a client whose requests all go to `url`'s host: with no proxy when that
/// host is this one (see the module's words), else the environment's, as reqwest's default.
pub fn route(builder: reqwest::ClientBuilder, url: &str) -> reqwest::ClientBuilder {
    match on_this_host(url) {
        true => builder.no_proxy(),
        false => builder,
    }
}

/// One gateway callvault sends requests to, as its configuration section names it: where it
/// is (`url`, a template's placeholders allowed after the host), the CA it is trusted by
/// besides the system's roots, and the certificate and key callvault shows it when it asks
/// for one (mutual TLS).
pub struct Gateway<'a> {
    /// `core.rest`, `notify.sms`: the keys in errors are under it.
    pub section: &'a str,
    pub url: &'a str,
    pub ca_file: Option<&'a std::path::Path>,
    /// Both or neither (`config check` refuses one alone).
    pub client_cert: Option<&'a std::path::Path>,
    pub client_key: Option<&'a std::path::Path>,
}

impl Gateway<'_> {
    /// The client `builder` (timeouts, redirects, ...) makes for requests to this gateway:
    /// [`route`]d, trusting `ca_file` besides the system's roots, and presenting the client
    /// certificate. An error names the key whose file is to be mended; a client key every
    /// local user may read is logged as a warning.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::Client, String> {
        let section = self.section;
        let mut builder = route(builder, self.url);
        if let (Some(cert), Some(key)) = (self.client_cert, self.client_key) {
            if let Some(exposed) = crate::tls::key_exposure(key) {
                tracing::warn!("{section}.client_key: {exposed}");
            }
            builder = builder.identity(identity(section, cert, key).map_err(|e| e.to_string())?);
        }
        if let Some(ca) = self.ca_file {
            let bad =
                |e: &dyn std::fmt::Display| format!("{section}.ca_file {}: {e}", ca.display());
            for cert in crate::tls::ca_file(ca).map_err(|e| bad(&e))? {
                let cert = reqwest::Certificate::from_der(&cert).map_err(|e| bad(&e))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        builder
            .build()
            .map_err(|e| format!("{section}: HTTP client: {e}"))
    }
}

/// The proxy (`host:port`, never its credentials) the environment sends requests to `url`
/// through, as [`route`] builds the client; `None` for a direct connection.
pub fn proxy_for(url: &str, env: &hyper_util::client::proxy::matcher::Matcher) -> Option<String> {
    if on_this_host(url) {
        return None;
    }
    // a template's placeholder ({to}) is no part of the host
    let uri: http::Uri = url.replace(['{', '}'], "").parse().ok()?;
    let proxy = env.intercept(&uri)?;
    let proxy = proxy.uri();
    let host = proxy.host()?;
    Some(match proxy.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Why a request failed, in words for the log and the admin, without the URL (a core's URL
/// may hold a member's number) and without the request: `no answer in time`, or what the
/// connection met at its root (`invalid peer certificate: UnknownIssuer`, `Connection
/// refused (os error 111)`, a name the resolver does not know), with `cannot connect: `
/// before it when the connection was not made.
pub fn failure(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".to_string();
    }
    let mut root: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        root = Some(cause);
        next = cause.source();
    }
    let cause = root.map_or_else(|| "the request failed".to_string(), ToString::to_string);
    match e.is_connect() {
        true => format!("cannot connect: {cause}"),
        false => cause,
    }
}

/// Why a client certificate and key (`SECTION.client_cert`, `SECTION.client_key`) cannot be
/// shown to a gateway, under the key that names the file to mend.
#[derive(Debug, thiserror::Error)]
pub enum ClientCertError {
    #[error("{key} {}: {error}", path.display())]
    Unreadable {
        key: String,
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("{key}: {message}")]
    Bad { key: String, message: String },
}

/// The certificate (chain) at `cert` and its private key at `key`, as a client presents them
/// to a gateway that asks for one (mutual TLS); `section` (`core.rest`) names them in errors.
/// Both are checked as the service would use them: PEM, a certificate at least, a key of a
/// kind TLS takes, and the key the certificate's. The files' bytes read here are wiped once
/// used; the key itself stays in the client built with it, as it must.
pub fn identity(
    section: &str,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<reqwest::Identity, ClientCertError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let cert_key = format!("{section}.client_cert");
    let key_key = format!("{section}.client_key");
    let read = |name: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map(zeroize::Zeroizing::new)
            .map_err(|error| ClientCertError::Unreadable {
                key: name.to_string(),
                path: path.to_path_buf(),
                error,
            })
    };
    let bad = |name: &str, message: String| ClientCertError::Bad {
        key: name.to_string(),
        message,
    };
    let cert_pem = read(&cert_key, cert)?;
    let key_pem = read(&key_key, key)?;
    use crate::tls::files::{self, Wanted};
    // a file that is not PEM (a .pfx, a DER .cer, an encrypted key) is told as what it is
    let instead = |bytes: &[u8], path: &std::path::Path, wanted, otherwise: String| {
        match files::what_instead(bytes, path, wanted) {
            Some(why) => format!("{}: {why}", path.display()),
            None => otherwise,
        }
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let otherwise = format!("{}: {e}", cert.display());
            bad(
                &cert_key,
                instead(&cert_pem, cert, Wanted::Chain, otherwise),
            )
        })?;
    if chain.is_empty() {
        let otherwise = format!("{}: no certificate in the file", cert.display());
        return Err(bad(
            &cert_key,
            instead(&cert_pem, cert, Wanted::Chain, otherwise),
        ));
    }
    if let Some(why) = files::unusable(&chain) {
        return Err(bad(&cert_key, format!("{}: {why}", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let otherwise = format!("{}: no private key in the file ({e})", key.display());
        bad(&key_key, instead(&key_pem, key, Wanted::Key, otherwise))
    })?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain.clone(), private.clone_key(), &provider).map_err(
        |e| {
            let not_its = format!("{} is not the key of {}", key.display(), cert.display());
            bad(
                &key_key,
                match e {
                    rustls::Error::InconsistentKeys(_) => match files::key_of(&chain, &private) {
                        None => format!("{not_its}, nor of any certificate in that file"),
                        Some(_) => format!("{not_its}: {}", files::mismatch(&chain, &private)),
                    },
                    other => format!("{not_its}: {other}"),
                },
            )
        },
    )?;
    let mut both = zeroize::Zeroizing::new(cert_pem.to_vec());
    both.push(b'\n');
    both.extend_from_slice(&key_pem);
    reqwest::Identity::from_pem(&both).map_err(|e| bad(&cert_key, e.to_string()))
}

/// A line for the service log for each configured endpoint a proxy stands between
/// (`notify.sms.url: requests go through the proxy proxy.cu.example:3128...`), so that an
/// unreachable gateway is looked for in the right place.
pub fn proxied(config: &crate::config::Config) -> Vec<String> {
    proxied_by(
        config,
        &hyper_util::client::proxy::matcher::Matcher::from_env(),
    )
}

/// [`proxied`], with the proxies `env` names.
fn proxied_by(
    config: &crate::config::Config,
    env: &hyper_util::client::proxy::matcher::Matcher,
) -> Vec<String> {
    let endpoints = [
        (
            "core.rest.base_url",
            (config.core.kind == crate::config::CoreKind::Rest)
                .then_some(config.core.rest.as_ref().map(|r| &r.base_url))
                .flatten(),
        ),
        ("notify.sms.url", config.notify.sms.as_ref().map(|s| &s.url)),
        (
            "notify.push.url",
            config.notify.push.as_ref().map(|p| &p.url),
        ),
    ];
    endpoints
        .into_iter()
        .filter_map(|(key, url)| Some((key, proxy_for(url?, env)?)))
        .map(|(key, proxy)| {
            format!(
                "{key}: requests go through the proxy {proxy}, which the environment names \
                 (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY; NO_PROXY lists hosts reached directly)"
            )
        })
        .collect()
}

/// The value an `auth_value` is sent as: as written, but for `Basic user:password` (as
/// `curl -u` and a gateway's documentation give the credentials), which is sent with the
/// credentials base64-encoded, as HTTP's Basic scheme has them. A `:` is never in base64,
/// so a value already encoded is sent as it is.
pub fn auth_sent(value: &str) -> zeroize::Zeroizing<String> {
    use base64::Engine;
    zeroize::Zeroizing::new(match value.split_once(' ') {
        Some((scheme, credentials))
            if scheme.eq_ignore_ascii_case("basic") && credentials.contains(':') =>
        {
            let encoded = zeroize::Zeroizing::new(
                base64::engine::general_purpose::STANDARD.encode(credentials),
            );
            format!("{scheme} {}", encoded.as_str())
        }
        _ => value.to_string(),
    })
}

/// `request` with the gateway's `auth_header: auth_value` ([`auth_sent`]), if both are set,
/// marked sensitive so that no debug output of the request shows it.
pub fn with_auth(
    request: reqwest::RequestBuilder,
    header: Option<&str>,
    value: Option<&crate::config::Secret>,
) -> reqwest::RequestBuilder {
    let (Some(header), Some(value)) = (header, value) else {
        return request;
    };
    match reqwest::header::HeaderValue::from_str(&auth_sent(value.expose())) {
        Ok(mut sent) => {
            sent.set_sensitive(true);
            request.header(header, sent)
        }
        // not a header's value (a line break): the request's own error says so when sent
        Err(_) => request.header(header, value.expose()),
    }
}

/// How much of a refusal's answer is read for the log.
const SAID_BYTES: usize = 2048;
/// How much of it the log shows.
const SAID_CHARS: usize = 300;

/// What a gateway's answer that refused a request said, for the log ([`said_text`]), with
/// the key callvault sent it (`auth_value`) hidden, should the gateway echo it; None when it
/// said nothing. Reads at most [`SAID_BYTES`] (the client's timeout bounds the wait).
pub async fn said(
    mut answer: reqwest::Response,
    sent_key: Option<&crate::config::Secret>,
) -> Option<String> {
    let mut body = zeroize::Zeroizing::new(Vec::new());
    while body.len() <= SAID_BYTES {
        match answer.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    said_text(&hidden(&body, sent_key.map(|k| k.expose())))
}

/// `body` with each whole occurrence of the key callvault sent a gateway, and of its token
/// after a scheme (`Bearer abc...`: `abc...`), written `[key]`: as configured and as sent
/// ([`auth_sent`]), as a JSON encoder
/// that escapes slashes writes it (PHP's `json_encode`: `ab\/cd`, a base64 key's `/`), and
/// percent-encoded (`ab%2Fcd%2B`, as a gateway echoing the request's form or URL writes it).
fn hidden(body: &[u8], sent_key: Option<&str>) -> zeroize::Zeroizing<Vec<u8>> {
    use zeroize::Zeroizing;
    let mut out = Zeroizing::new(body.to_vec());
    let Some(key) = sent_key else {
        return out;
    };
    let token = key.split_once(' ').map_or(key, |(_, t)| t.trim());
    let sent = auth_sent(key);
    let sent_token = sent
        .split_once(' ')
        .map_or(sent.as_str(), |(_, t)| t.trim());
    let mut forms: Vec<Zeroizing<String>> = [key, token, sent.as_str(), sent_token]
        .into_iter()
        .flat_map(|s| {
            [
                Zeroizing::new(s.to_string()),
                Zeroizing::new(s.replace('/', "\\/")),
                Zeroizing::new(percent_encode(s)),
            ]
        })
        .filter(|form| form.len() >= 4)
        .collect();
    // the longest first: a key's form holds its token's
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    forms.dedup();
    for secret in &forms {
        let secret = secret.as_bytes();
        let mut replaced = Zeroizing::new(Vec::with_capacity(out.len()));
        let mut rest = &out[..];
        while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
            replaced.extend_from_slice(&rest[..at]);
            replaced.extend_from_slice(b"[key]");
            rest = &rest[at + secret.len()..];
        }
        replaced.extend_from_slice(rest);
        out = replaced;
    }
    out
}

/// `value` with everything but RFC 3986's unreserved characters percent-encoded (upper-case
/// hex), as in a URL's path or query.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A refusal's answer as the log may show it: on one line, at most [`SAID_CHARS`]
/// characters, and every number of six digits or more masked as `[digits]`, written
/// together or in groups (`+1 (612) 555-0101`, `123-45-6789`, `918 273`): a gateway may echo
/// a one-time code, a member's number or an SSN. A shorter number (a gateway's error code,
/// `21211`) stays. An e-mail address is masked as the member's is shown (`j***@cu.example`,
/// [`crate::member::mask_emails_in`]). Control characters become spaces, so a gateway
/// cannot write a line of its own into the log. None for an empty answer.
pub fn said_text(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(SAID_BYTES)]);
    // digits where the read stopped may be the start of a longer number
    let text = match body.len() > SAID_BYTES {
        true => text.trim_end_matches(|c: char| c.is_ascii_digit() || GROUPING.contains(&c)),
        false => &text,
    };
    // blanks and control characters as one space, none first: before numbers are read, so
    // that `918   273` is not shown as `918 273`
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c.is_whitespace() || c.is_control() {
            true if chars.last().is_none_or(|&last| last == ' ') => {}
            true => chars.push(' '),
            false => chars.push(c),
        }
    }
    let mut said = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            said.push(chars[i]);
            i += 1;
            continue;
        }
        // a number: digits, with one or two grouping characters between them (`) `)
        let (start, mut end, mut digits) = (i, i, 0);
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits += 1;
                end += 1;
                continue;
            }
            let grouping = chars[end..]
                .iter()
                .take(2)
                .take_while(|c| GROUPING.contains(c))
                .count();
            match grouping > 0 && chars.get(end + grouping).is_some_and(char::is_ascii_digit) {
                true => end += grouping,
                false => break,
            }
        }
        match digits >= 6 {
            true => said.push_str("[digits]"),
            false => said.extend(&chars[start..end]),
        }
        i = end;
    }
    // an app back end may name the member's e-mail address: masked as `sent_to` shows one
    let said = crate::member::mask_emails_in(said.trim_end());
    if said.is_empty() {
        return None;
    }
    Some(match said.char_indices().nth(SAID_CHARS) {
        Some((cut, _)) => format!("{}…", &said[..cut]),
        None => said.to_string(),
    })
}

/// What may stand between the digit groups of one number.
const GROUPING: &[char] = &[' ', '-', '.', '/', '(', ')'];

#[cfg(test)]
mod tests;
