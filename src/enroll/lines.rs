//! True line numbers for CSV records. The `csv` crate reports the position of a record that
//! follows a CRLF line end at the `\n` of that line end, one line too early (it treats the
//! `\r` as the terminator and the `\n` as the start of the next record). Counting the
//! newlines ourselves gives the line a person sees in an editor, whatever the line ends.

use std::io::{self, Read};

/// A reader that remembers where every `\n` it passed on was.
pub struct LineCounter<R> {
    inner: R,
    offset: u64,
    newlines: Vec<u64>,
}

impl<R> LineCounter<R> {
    pub fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            newlines: Vec::new(),
        }
    }

    /// The 1-based line of the record `csv` says starts at `byte` (an offset into what this
    /// reader passed on).
    pub fn line_of(&self, byte: u64) -> u64 {
        self.newlines.partition_point(|&o| o < byte) as u64
            + 1
            + u64::from(self.newlines.binary_search(&byte).is_ok())
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let base = self.offset;
        self.newlines
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

/// The line of the record `raw` holds, read by `reader`.
pub fn line_of<R: Read>(reader: &csv::Reader<LineCounter<R>>, raw: &csv::ByteRecord) -> u64 {
    raw.position()
        .map_or(0, |p| reader.get_ref().line_of(p.byte()))
}
