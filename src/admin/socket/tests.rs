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
