//! The command line's side: reach the running service through its admin socket, or, when
//! none runs, open the store file and do the work here.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use super::socket::Frame;
use super::{AdminError, Context, Request, Response, execute};
use crate::audit::AuditLog;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::{DB_FILE_NAME, Store};

/// Why the running service may not find a file the command line finds, and what to do.
pub const THE_SERVICE_READS: &str = "The running service opens the files a command names, as \
    its own user: as installed, it has a /tmp of its own and sees neither /home nor /root. \
    Name a file it can read (under /var/lib/callvault, say), or stop the service (systemctl \
    stop callvault) and run the command again";

/// Why a backup the running service wrote may not be where the command line looks.
pub const THE_SERVICE_WRITES: &str = "The running service writes the backup as its own user: \
    as installed, it has a /tmp of its own (emptied when it stops) and writes only under \
    /var/lib/callvault and the unit's ReadWritePaths=. Back up into a folder there, or stop \
    the service (systemctl stop callvault) and run the command again";

/// Whether a service is answering on the admin socket; an error when this user may not
/// tell (nor use the store).
pub fn service_running(config: &Config) -> Result<bool, AdminError> {
    match UnixStream::connect(config.admin_socket_path()) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(not_allowed(config)),
        Err(_) => Ok(false),
    }
}

/// Run `request` through the service if it runs, else locally. Bulk output goes to `out`.
pub fn run(config: &Config, request: Request, out: &mut dyn Write) -> Result<Response, AdminError> {
    match UnixStream::connect(config.admin_socket_path()) {
        Ok(stream) => remote(stream, &request, out),
        // whether the service runs or not, this user may use neither it nor the store
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(not_allowed(config)),
        Err(_) => {
            let ctx = open_local(config)?;
            // Ctrl-C stops long work where it safely can, and the store closes cleanly
            crate::cli::interrupt::watch(&ctx.store);
            execute(&ctx, "cli", request, out, &mut std::io::stderr())
        }
    }
}

/// This user may not reach the state directory: the service's user and root alone may
/// (before, such a user was told that there was no store, and to run `init`).
fn not_allowed(config: &Config) -> AdminError {
    AdminError::Refused(format!(
        "permission denied: {} is callvault's own (the store, and the running service's \
         admin socket in it): run the command as root (sudo) or as the service's user",
        config.storage.state_dir.display()
    ))
}

/// Open the store directly (no service running).
pub fn open_local(config: &Config) -> Result<Context, AdminError> {
    let db = config.storage.state_dir.join(DB_FILE_NAME);
    match std::fs::metadata(&db) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AdminError::Refused(format!(
                "no store at {} (run `callvault init` first)",
                db.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(not_allowed(config));
        }
        Err(e) => {
            return Err(AdminError::Refused(format!(
                "cannot open the store {}: {e}",
                db.display()
            )));
        }
    }
    let store = Arc::new(Store::open(&config.storage.state_dir)?);
    let clock = Arc::new(SystemClock);
    let audit = AuditLog::start(store.clone(), clock.clone(), config.audit.max_batch);
    let vault = crate::vault::Vault::open(
        store.clone(),
        &config.vault.key_file,
        config.vault.pin_threads,
    )
    .map(Arc::new)
    .map_err(|e| e.to_string());
    Ok(Context {
        vault,
        store,
        audit,
        clock,
        config: Arc::new(arc_swap::ArcSwap::from_pointee(config.clone())),
        terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        // Ctrl-C here interrupts the store itself (`cli::interrupt`)
        client_gone: Default::default(),
        keys: None,
    })
}

/// `request` as the admin socket takes it: one JSON line.
pub(super) fn request_line(request: &Request) -> Result<Vec<u8>, AdminError> {
    let mut line = serde_json::to_vec(request).map_err(|e| match e.to_string() {
        // serde's words for a path that is no text
        said if said.contains("invalid UTF-8") => AdminError::Refused(
            "a file name that is not UTF-8 cannot be handed to the running service: rename \
             the file, or stop the service (systemctl stop callvault) and run the command again"
                .to_string(),
        ),
        said => AdminError::Protocol(said),
    })?;
    line.push(b'\n');
    Ok(line)
}

fn remote(
    stream: UnixStream,
    request: &Request,
    out: &mut dyn Write,
) -> Result<Response, AdminError> {
    let proto = |e: std::io::Error| AdminError::Protocol(e.to_string());
    let line = request_line(request)?;
    (&stream).write_all(&line).map_err(proto)?;
    // Ctrl-C closes our side, which asks the service to stop; its answer still comes
    crate::cli::interrupt::watch_connection(&stream);
    let reader = BufReader::new(&stream);
    for frame in reader.lines() {
        let frame = frame.map_err(proto)?;
        match serde_json::from_str::<Frame>(&frame)
            .map_err(|e| AdminError::Protocol(format!("bad answer: {e}")))?
        {
            Frame::Out(text) => out.write_all(text.as_bytes()).map_err(proto)?,
            // progress beside the output, as the command would show it offline
            Frame::Tell(text) => {
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            Frame::Ok(response) => return Ok(response),
            Frame::Err { code, message } if code == super::UNREACHABLE => {
                let message = format!("the service {message}. {THE_SERVICE_READS}");
                return Err(AdminError::Remote { code, message });
            }
            Frame::Err { code, message } if code == super::UNWRITABLE => {
                let message = format!("the service {message}. {THE_SERVICE_WRITES}");
                return Err(AdminError::Remote { code, message });
            }
            Frame::Err { code, message } => return Err(AdminError::Remote { code, message }),
        }
    }
    Err(AdminError::Protocol(
        "the service closed the connection without an answer".into(),
    ))
}
