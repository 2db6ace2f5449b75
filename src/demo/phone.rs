//! The demo's stand-in for a member's phone: a plain HTTP endpoint on loopback that the
//! demo's `[notify.sms]` gateway points at. Each text callvault sends is printed on the demo's
//! terminal and appended to a file, so the one-time-code story works without an SMS gateway.
//! The members are synthetic; a real installation's texts go to its own gateway.

use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

/// Requests larger than this are refused (a text is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

pub struct Phone {
    /// Where the SMS gateway is: `http://127.0.0.1:PORT/sms`.
    pub url: String,
    /// Every text received, one `to<TAB>text` line each.
    pub texts: PathBuf,
}

/// Listen on a free loopback port and answer in a background thread for the demo's life.
pub fn start(dir: &Path) -> io::Result<Phone> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/sms", listener.local_addr()?);
    let texts = dir.join("phone-texts.txt");
    let file = texts.clone();
    std::thread::Builder::new()
        .name("demo-phone".into())
        .spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if let Err(e) = receive(stream, &file) {
                    crate::cli::out::tell!("demo phone: {e}");
                }
            }
        })?;
    Ok(Phone { url, texts })
}

/// One gateway request: the JSON body of the default `[notify.sms] body` template.
fn receive(stream: TcpStream, file: &Path) -> io::Result<()> {
    // One connection at a time: a stalled one must not keep the phone from the next text.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    let mut line = String::new();
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
    let (to, message) = (field("to"), field("text"));
    // Not println!: a closed stdout must not stop the phone.
    let _ = writeln!(io::stdout(), "[demo phone] text to {to}: {message}");
    let mut out = OpenOptions::new().create(true).append(true).open(file)?;
    writeln!(out, "{to}\t{message}")?;
    writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}
