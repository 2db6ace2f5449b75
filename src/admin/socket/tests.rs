use super::*;

/// What a writer sent, frame by frame, as text.
fn sent(rx: &mut mpsc::Receiver<Frame>) -> Vec<String> {
    let mut frames = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        match frame {
            Frame::Out(text) => frames.push(text),
            other => panic!("an output writer sent {other:?}"),
        }
    }
    frames
}

/// Output goes out in chunks of about `CHUNK` bytes, each cut at a line's end, so that every
/// frame is whole UTF-8 and whole lines, whatever sizes the command writes in; nothing is
/// lost or doubled, and what is left at the end goes out on `flush`.
#[test]
fn output_goes_out_in_whole_lines_of_about_a_chunk() {
    // lines ending in a two-byte character: a cut one byte early breaks the UTF-8
    let line = |i: usize| format!("{i:06},Zoë\n");
    // and a last line without its end, which only `flush` sends
    let text: String = (0..20_000).map(line).chain(["Zoë".into()]).collect();
    for write_size in [1, 7, 4096, CHUNK + 3, text.len()] {
        // room for a frame a byte, so that a writer that sends too often fails, not blocks
        let (tx, mut rx) = mpsc::channel(text.len() + 1);
        let mut out = ChunkWriter {
            tx,
            buf: Vec::new(),
            frame: Frame::Out,
        };
        for piece in text.as_bytes().chunks(write_size) {
            assert_eq!(out.write(piece).unwrap(), piece.len(), "{write_size}");
        }
        let before_flush = sent(&mut rx);
        out.flush().unwrap();
        let last = sent(&mut rx);
        assert_eq!(last.len(), 1, "flush sends the rest ({write_size})");
        assert!(
            before_flush.concat() + &last[0] == text,
            "lost, doubled or reordered ({write_size})"
        );
        for frame in &before_flush {
            assert!(frame.ends_with('\n'), "cut mid-line ({write_size})");
            // sent once a chunk was gathered, at most a write and a line past it
            assert!(frame.len() >= CHUNK - line(0).len(), "{write_size}");
            assert!(frame.len() <= CHUNK + write_size, "{write_size}");
        }
        assert!(
            before_flush.len() >= (text.len() / (CHUNK + write_size)).saturating_sub(1),
            "the output goes out as it is written, not all at the end ({write_size})"
        );
        // nothing is left to flush
        out.flush().unwrap();
        assert!(sent(&mut rx).is_empty(), "{write_size}");
    }
}

/// A line longer than a chunk waits for its end; the frames are still whole lines.
#[test]
fn a_line_longer_than_a_chunk_goes_out_whole() {
    let (tx, mut rx) = mpsc::channel(16);
    let mut out = ChunkWriter {
        tx,
        buf: Vec::new(),
        frame: Frame::Out,
    };
    let long = "é".repeat(CHUNK);
    out.write_all(long.as_bytes()).unwrap();
    assert!(sent(&mut rx).is_empty(), "no line's end yet");
    out.write_all(b"\nnext").unwrap();
    assert_eq!(sent(&mut rx), [format!("{long}\n")]);
    out.flush().unwrap();
    assert_eq!(sent(&mut rx), ["next"]);
}

/// When the client has gone (the receiver dropped), a write that sends says so as a broken
/// pipe, so the command stops rather than writing into nothing.
#[test]
fn a_writer_whose_client_has_gone_says_broken_pipe() {
    let (tx, rx) = mpsc::channel(16);
    drop(rx);
    let mut out = ChunkWriter {
        tx,
        buf: Vec::new(),
        frame: Frame::Tell,
    };
    out.write_all(b"short\n").unwrap();
    let e = out.flush().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
}

/// What the service's admin commands work on: a store of its own in `dir`, no vault.
fn context(dir: &Path) -> Context {
    use crate::audit::AuditLog;
    use crate::clock::{Clock, SystemClock};
    use crate::config::Config;
    use crate::store::Store;

    let store = Arc::new(Store::open(dir).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut config = Config::default();
    config.storage.state_dir = dir.to_path_buf();
    Context {
        audit: AuditLog::start(store.clone(), clock.clone(), 16),
        store,
        clock,
        config: Arc::new(arc_swap::ArcSwap::from_pointee(config)),
        vault: Err("no vault in this test".into()),
        terminal: false,
        client_gone: Default::default(),
        keys: None,
    }
}

/// A service's admin socket over [`context`].
fn serving(dir: &Path) -> PathBuf {
    let ctx = context(dir);
    let path = dir.join("admin.sock");
    // a stale socket file (a service that was killed) is replaced
    std::fs::write(&path, b"").unwrap();
    let listener = bind(&path).unwrap();
    tokio::spawn(serve(listener, ctx));
    path
}

/// Send `request` as it is, and read every frame the service answers until it closes, our
/// side kept open as the command line keeps it (a request that does not end its line, or
/// none: closed at once, which ends it).
async fn exchange(path: &Path, request: Vec<u8>) -> Vec<Frame> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut stream = std::os::unix::net::UnixStream::connect(path).unwrap();
        stream.write_all(&request).unwrap();
        if !request.ends_with(b"\n") {
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        }
        std::io::BufReader::new(stream)
            .lines()
            .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
            .collect()
    })
    .await
    .unwrap()
}

fn line(request: &Request) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(request).unwrap();
    bytes.push(b'\n');
    bytes
}

/// The socket answers one request line with the command's frames and one last `ok` or
/// `err`, and every request it cannot read with a `protocol` error that says why: not a
/// request, not UTF-8, too long. A request of 130 KiB (an `audit verify` naming an export a
/// day for three years) is read whole. The socket is the service user's alone (0600).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_answers_each_request_line_once_and_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = serving(dir.path());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // with no stale socket to replace, as at a first start; a path that cannot be one fails
    let fresh = dir.path().join("fresh.sock");
    drop(bind(&fresh).unwrap());
    assert!(fresh.exists());
    assert!(bind(&dir.path().join("no-such-folder/admin.sock")).is_err());

    let frames = exchange(&path, line(&Request::KeyList)).await;
    assert!(
        matches!(frames[..], [Frame::Ok(Response::Keys { ref keys })] if keys.is_empty()),
        "{frames:?}"
    );
    // a line the connection's end ends (`printf '{...}' | socat`) is a request too
    let mut unended = line(&Request::KeyList);
    unended.pop();
    let frames = exchange(&path, unended).await;
    assert!(
        matches!(frames[..], [Frame::Ok(Response::Keys { .. })]),
        "{frames:?}"
    );

    // a long request: an export a day for three years, 130 KiB of names
    let copies: Vec<PathBuf> = (0..1096)
        .map(|i| dir.path().join(format!("{i:0>120}.jsonl")))
        .collect();
    let long = line(&Request::AuditVerify {
        anchors: Vec::new(),
        copies: copies.clone(),
    });
    assert!(long.len() > 128 * 1024 && long.len() < MAX_REQUEST);
    let frames = exchange(&path, long).await;
    let Some(Frame::Err { code, message }) = frames.last() else {
        panic!("{frames:?}")
    };
    assert_ne!(code, "protocol", "{message}");
    assert!(
        message.contains(&copies[0].file_name().unwrap().to_string_lossy()[..]),
        "the first copy that cannot be read is named: {message}"
    );

    // far longer than the socket's buffers: the client can only finish writing it, and so
    // hear the answer, if the service reads it all
    let too_long = line(&Request::AuditVerify {
        anchors: Vec::new(),
        copies: vec![dir.path().join("x".repeat(4 * MAX_REQUEST))],
    });
    let refusals = [
        (b"hello\n".to_vec(), "bad request: expected value"),
        (
            b"{\"op\":\"key_list\xff\"}\n".to_vec(),
            "bad request: invalid unicode",
        ),
        (
            b"{\"op\":\"format_disk\"}\n".to_vec(),
            "bad request: unknown variant",
        ),
        (too_long, "bad request: longer than 1 MiB"),
    ];
    for (request, said) in refusals {
        let frames = exchange(&path, request).await;
        assert!(
            matches!(&frames[..], [Frame::Err { code, message }]
                if code == "protocol" && message.starts_with(said)),
            "{said}: {frames:?}"
        );
    }

    // a connection closed without a request is closed without an answer
    assert!(exchange(&path, Vec::new()).await.is_empty());
}

/// The socket notices a client that has gone: its side closed (Ctrl-C at the command line
/// closes it), or the whole connection gone (the command killed). A client still waiting,
/// even one that sends something more, has not gone.
#[tokio::test]
async fn a_client_that_closes_its_side_has_gone() {
    for whole in [false, true] {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (read, _write) = ours.into_split();
        let gone = Arc::new(AtomicBool::new(false));
        let _watch = Gone::when_closed(BufReader::new(read), gone.clone());

        let (their_read, mut their_write) = theirs.into_split();
        their_write.write_all(b"still here\n").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!gone.load(Ordering::SeqCst), "a client still waiting");

        match whole {
            false => their_write.shutdown().await.unwrap(),
            true => drop((their_read, their_write)),
        }
        let noticed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !gone.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        assert!(noticed.await.is_ok(), "closed whole: {whole}");
    }
}

/// A command whose client has gone stops where it safely can, as when the service stops:
/// an enrollment applies nothing, says so, and is audited as failed.
#[test]
fn a_command_whose_client_has_gone_stops_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("members.csv");
    std::fs::write(
        &file,
        "member_id,mobile_phone\n5001,+16125550101\n5002,+16125550102\n",
    )
    .unwrap();
    let enroll = || Request::Enroll {
        path: file.clone(),
        mode: crate::enroll::Mode::Incremental,
        dry_run: false,
        max_removed_percent: None,
        encoding: None,
        separator: None,
    };
    let enrolled = |ctx: &Context| {
        let txn = ctx.store.begin_read().unwrap();
        crate::core::embedded::get(&txn, "5001").unwrap().is_some()
    };

    let ctx = context(dir.path());
    ctx.client_gone.store(true, Ordering::SeqCst);
    let e = execute(&ctx, "cli", enroll(), &mut io::sink(), &mut io::sink()).unwrap_err();
    assert_eq!(e.code(), "refused");
    assert!(
        e.to_string().contains("interrupted: nothing of") && e.to_string().contains("was applied"),
        "{e}"
    );
    assert!(!enrolled(&ctx));
    let mut audit = Vec::new();
    crate::audit::export(&ctx.store.begin_read().unwrap(), None, &mut audit).unwrap();
    let audit = String::from_utf8(audit).unwrap();
    let last = audit.lines().last().unwrap();
    assert!(
        last.contains(r#""kind":"enrollment_failed""#) && last.contains("interrupted"),
        "{last}"
    );

    // the same command from a client that waits for it
    ctx.client_gone.store(false, Ordering::SeqCst);
    execute(&ctx, "cli", enroll(), &mut io::sink(), &mut io::sink()).unwrap();
    assert!(enrolled(&ctx));
}

/// A stale socket is replaced and the new one is the service user's alone; what stands in
/// the socket's place and cannot be removed (a folder) is said as what it is, not as an
/// address in use.
#[tokio::test]
async fn a_stale_socket_is_replaced_and_a_folder_in_its_place_is_said() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.sock");
    drop(bind(&path).unwrap());
    let again = bind(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(again);
    let folder = dir.path().join("folder.sock");
    std::fs::create_dir(&folder).unwrap();
    let err = bind(&folder).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
}

/// A connection's watch ends with its answer: dropped, it lets go of the connection's read
/// side at once, not when the client closes it (a client that keeps its side open would
/// otherwise hold a task and a socket half for as long as it likes).
#[tokio::test]
async fn a_dropped_watch_lets_the_connection_go() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let (read, _write) = ours.into_split();
    let gone = Arc::new(AtomicBool::new(false));
    let watch = Gone::when_closed(BufReader::new(read), gone.clone());
    assert_eq!(Arc::strong_count(&gone), 2, "the watch holds the flag");
    drop(watch);
    let released = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while Arc::strong_count(&gone) > 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    assert!(released.await.is_ok(), "the watch still runs");
    assert!(!gone.load(Ordering::SeqCst), "the client never went");
    drop(theirs);
}
