use super::*;

struct Gone;
impl Write for Gone {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
}

struct Full;
impl Write for Full {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(28)) // ENOSPC
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn only_a_reader_gone_counts_as_closed() {
    // One test: the flag is the process's.
    let mut full = Stdout::new(Full);
    assert!(full.write_all(b"x").is_err());
    assert!(!closed(), "a full disk is an error, not a reader gone");
    let mut ok = Stdout::new(Vec::new());
    ok.write_all(b"fine").unwrap();
    assert!(!closed());
    let mut gone = Stdout::new(Gone);
    assert!(gone.write_all(b"x").is_err());
    assert!(closed());
}
