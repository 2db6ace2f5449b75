//! The demo's stand-in for a member's phone: a plain HTTP endpoint on loopback that the
//! demo's `[notify.sms]` gateway and `[notify.push]` webhook point at. Each text callvault
//! sends is printed on the demo's terminal and appended to a file, and so is each push (as
//! the member's app would show it), so the one-time-code and push stories work without an
//! SMS gateway or an app back end. The members are synthetic; a real installation's texts
//! go to its own gateway, its pushes to its own app back end.

use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

/// Requests larger than this are refused (a text is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

pub struct Phone {
    /// Where the SMS gateway is: `http://127.0.0.1:PORT/sms`.
    pub url: String,
    /// Where the app back end's push webhook is: `http://127.0.0.1:PORT/push`.
    pub push_url: String,
    /// Every text received, one `to<TAB>text` line each.
    pub texts: PathBuf,
    /// Every push received, one `challenge_id<TAB>member_id<TAB>code` line each (`-` for
    /// a push without a code).
    pub pushes: PathBuf,
}

/// Listen on a free loopback port and answer in a background thread for the demo's life.
pub fn start(dir: &Path) -> io::Result<Phone> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let texts = dir.join("phone-texts.txt");
    let pushes = dir.join("app-pushes.txt");
    let files = (texts.clone(), pushes.clone());
    std::thread::Builder::new()
        .name("demo-phone".into())
        .spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if let Err(e) = receive(stream, &files.0, &files.1) {
                    crate::cli::out::tell!("demo phone: {e}");
                }
            }
        })?;
    Ok(Phone {
        url: format!("http://{address}/sms"),
        push_url: format!("http://{address}/push"),
        texts,
        pushes,
    })
}

/// One request: a text (the JSON body of the default `[notify.sms] body` template) or a
/// push (the webhook's JSON, README "Push webhook").
fn receive(stream: TcpStream, texts: &Path, pushes: &Path) -> io::Result<()> {
    // One connection at a time: a stalled one must not keep the phone from the next text.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // `POST /push HTTP/1.1`
    let push = line.split(' ').nth(1) == Some("/push");
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut writer = stream;
    if length > MAX_BODY {
        return writer.write_all(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let text: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |k: &str| {
        text.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string()
    };
    // Not println!: a closed stdout must not stop the phone.
    let (file, record) = if push {
        let (id, member) = (field("challenge_id"), field("member_id"));
        let code = text.get("code").and_then(|v| v.as_str()).unwrap_or("-");
        let shown = match code {
            "-" => String::new(),
            code => format!(" Once approved, the app shows the code {code}."),
        };
        let _ = writeln!(
            io::stdout(),
            "[demo app] push to member {member} (challenge {id}): approve?{shown}"
        );
        (pushes, format!("{id}\t{member}\t{code}"))
    } else {
        let (to, message) = (field("to"), field("text"));
        let _ = writeln!(io::stdout(), "[demo phone] text to {to}: {message}");
        (texts, format!("{to}\t{message}"))
    };
    let mut out = OpenOptions::new().create(true).append(true).open(file)?;
    writeln!(out, "{record}")?;
    writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}
