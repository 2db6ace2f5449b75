//! The service side of the admin socket: a Unix socket in the state directory, mode 0600,
//! so only the service user (and root) can reach it. One JSON request line in; zero or more
//! `{"out": "..."}` frames and one final `{"ok": ...}` or `{"err": ...}` frame out. The client
//! keeps its side open until the answer: closing it (Ctrl-C at the command line) stops the
//! command where it safely can, with the answer `interrupted before the end`.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::{AdminError, Context, Request, Response, execute};

/// A request names files at most (an `audit prune` may name an export for every day of
/// years); the socket is the service user's alone, so the bound is only against a mistake.
const MAX_REQUEST: usize = 1024 * 1024;
const CHUNK: usize = 32 * 1024;

/// One frame of the answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Output: the command's stdout, or the stderr its CLI chose for progress.
    Out(String),
    /// Progress beside output (an export's): for the CLI's stderr.
    Tell(String),
    Ok(Response),
    Err {
        code: String,
        message: String,
    },
}

/// Bind the socket, replacing a stale one. The caller holds the store, so no other service
/// can be listening on it.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serve connections until the task is dropped.
pub async fn serve(listener: UnixListener, ctx: Context) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, ctx).await {
                        tracing::warn!(error = %e, "admin socket connection failed");
                    }
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "admin socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Removes the socket file when the service stops.
pub struct SocketFile(pub PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn handle(stream: UnixStream, mut ctx: Context) -> io::Result<()> {
    let actor = match stream.peer_cred() {
        Ok(cred) => format!("cli(uid={})", cred.uid()),
        Err(_) => "cli".to_string(),
    };
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    let n = (&mut read)
        .take(MAX_REQUEST as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(());
    }
    let request = if n == MAX_REQUEST && !line.ends_with(b"\n") {
        // the client writes its whole line before it reads: take the rest, then answer
        skip_line(&mut read).await?;
        Err(format!("longer than {} MiB", MAX_REQUEST >> 20))
    } else {
        serde_json::from_slice::<Request>(&line).map_err(|e| e.to_string())
    };
    let request = match request {
        Ok(r) => r,
        Err(why) => {
            let frame = Frame::Err {
                code: "protocol".into(),
                message: format!("bad request: {why}"),
            };
            return send(&mut write, &frame).await;
        }
    };
    // The client sends nothing more and keeps its side open while it waits: its side
    // closing (Ctrl-C at the command line, the command killed, its terminal gone), or an
    // answer it no longer takes, stops the command where it safely can.
    let gone = Arc::new(AtomicBool::new(false));
    ctx.client_gone = gone.clone();
    let _watch = Gone::when_closed(read, gone.clone());
    let (tx, mut rx) = mpsc::channel::<Frame>(16);
    // counted from here: the service's stop waits for it
    let work = ctx.store.work();
    let job = tokio::task::spawn_blocking(move || {
        let _work = work;
        let mut tell = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::new(),
            frame: Frame::Tell,
        };
        let mut out = ChunkWriter {
            tx,
            buf: Vec::new(),
            frame: Frame::Out,
        };
        let result = execute(&ctx, &actor, request, &mut out, &mut tell);
        let _ = out.flush();
        let _ = tell.flush();
        result
    });
    while let Some(frame) = rx.recv().await {
        if send(&mut write, &frame).await.is_err() {
            gone.store(true, Ordering::SeqCst);
            tracing::info!(
                "admin socket: the command's client has gone; the command stops where it safely can"
            );
            return Ok(());
        }
    }
    let frame = match job.await {
        Ok(Ok(response)) => Frame::Ok(response),
        Ok(Err(e)) => error_frame(&e),
        Err(e) => Frame::Err {
            code: "internal".into(),
            message: e.to_string(),
        },
    };
    match send(&mut write, &frame).await {
        // it was told to stop, and has; nothing is wrong with the socket
        Err(_) if gone.load(Ordering::SeqCst) => {
            tracing::info!("admin socket: the command's client had gone before its answer");
            Ok(())
        }
        sent => sent,
    }
}

/// Watches a client's side of the connection, until dropped.
struct Gone(tokio::task::JoinHandle<()>);

impl Gone {
    /// Set `gone` once the client's side closes or fails.
    fn when_closed(mut read: BufReader<OwnedReadHalf>, gone: Arc<AtomicBool>) -> Gone {
        Gone(tokio::spawn(async move {
            let mut scrap = [0u8; 512];
            while let Ok(1..) = read.read(&mut scrap).await {}
            gone.store(true, Ordering::SeqCst);
        }))
    }
}

impl Drop for Gone {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Read and drop the rest of a line that is too long to be a request.
async fn skip_line(read: &mut BufReader<OwnedReadHalf>) -> io::Result<()> {
    loop {
        let buf = read.fill_buf().await?;
        if buf.is_empty() {
            return Ok(());
        }
        // what follows the line's end is never read
        if buf.contains(&b'\n') {
            return Ok(());
        }
        let all = buf.len();
        read.consume(all);
    }
}

fn error_frame(e: &AdminError) -> Frame {
    Frame::Err {
        code: e.code().to_string(),
        message: e.to_string(),
    }
}

async fn send(write: &mut tokio::net::unix::OwnedWriteHalf, frame: &Frame) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(frame).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await
}

/// Collects output and sends it in chunks cut at line ends, so every chunk is whole UTF-8.
struct ChunkWriter {
    tx: mpsc::Sender<Frame>,
    buf: Vec<u8>,
    /// The frame its text goes out in.
    frame: fn(String) -> Frame,
}

impl ChunkWriter {
    fn send(&mut self, upto: usize) -> io::Result<()> {
        let rest = self.buf.split_off(upto);
        let chunk = std::mem::replace(&mut self.buf, rest);
        let text = String::from_utf8(chunk).map_err(io::Error::other)?;
        self.tx
            .blocking_send((self.frame)(text))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK
            && let Some(end) = self.buf.iter().rposition(|b| *b == b'\n')
        {
            self.send(end + 1)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send(self.buf.len())
    }
}

#[cfg(test)]
mod tests;
