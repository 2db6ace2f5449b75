//! True line numbers for CSV records. The `csv` crate reports the position of a record that
//! follows a CRLF line end at the `\n` of that line end, one line too early (it treats the
//! `\r` as the terminator and the `\n` as the start of the next record), and a record after
//! blank lines at the first of them. Counting the line ends ourselves (`\n`, `\r\n`, and the
//! lone `\r` of Excel's "CSV (Macintosh)") gives the line a person sees in an editor,
//! whatever the line ends.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

/// Whether a file opening with `start` was saved as UTF-16, by its byte-order mark (Excel's
/// "Unicode Text", Notepad's "Unicode", PowerShell 5's `>` and `Out-File`): its every other
/// byte is a zero.
pub fn opens_as_utf16(start: &[u8]) -> bool {
    start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF")
}

/// A CSV file's text as its reader takes it: UTF-8 (or the Windows-1252 or Mac Roman
/// bytes [`Encoding`] reads), past any byte-order mark.
pub struct Text {
    pub reader: Box<dyn Read + Send>,
    /// The file is UTF-16 ([`opens_as_utf16`]), transcoded to UTF-8 as it is read.
    pub utf16: bool,
}

impl Text {
    /// Open `file` for its CSV reader; a file that is no text at all is [`NotCsv`].
    pub fn open(file: std::fs::File) -> io::Result<Result<Text, NotCsv>> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        let mut reader = io::BufReader::with_capacity(1 << 20, file);
        let start = io::BufRead::fill_buf(&mut reader)?;
        if let Some(kind) = NotCsv::of(start) {
            return Ok(Err(kind));
        }
        if opens_as_utf16(start) {
            // lone surrogates become U+FFFD, which no member id, phone or PIN holds
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .strip_bom(true)
                .build(reader);
            return Ok(Ok(Text {
                reader: Box::new(decoded),
                utf16: true,
            }));
        }
        if start.starts_with(BOM) {
            io::BufRead::consume(&mut reader, BOM.len());
        }
        Ok(Ok(Text {
            reader: Box::new(reader),
            utf16: false,
        }))
    }

    /// About how many bytes of text a file of `size` bytes reads as, for progress: half
    /// of a UTF-16 file's, whose every character of a CSV's usual text is two bytes.
    pub fn size_read(&self, size: u64) -> u64 {
        match self.utf16 {
            true => size / 2,
            false => size,
        }
    }
}

/// `[enroll] encoding`: how the text of an enrollment file is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 (ENROLL.md): a line that is not is refused with the whole file.
    #[default]
    #[serde(rename = "utf-8")]
    #[value(name = "utf-8")]
    Utf8,
    /// Windows-1252, which Excel on a US or Western European Windows writes as "CSV (Comma
    /// delimited)" and many cores export ("ANSI"; ISO-8859-1 is its subset): `José` is
    /// `Jos\xE9`. A line that is valid UTF-8 is still read as UTF-8, since Windows-1252 text
    /// with letters beyond ASCII almost never is, and a file saved as UTF-8 after all (or
    /// joined from two exports) then reads as written, not as `JosÃ©`.
    #[serde(rename = "windows-1252")]
    #[value(name = "windows-1252")]
    Windows1252,
    /// Mac Roman, which Excel for Mac writes as "Comma Separated Values (.csv)" and "CSV
    /// (Macintosh)": `José` is `Jos\x8E`, which Windows-1252 reads as `JosŽ`. The name is
    /// the Encoding Standard's (WHATWG), as `iconv -l` and Python name it too. A line that
    /// is valid UTF-8 is still read as UTF-8, as for Windows-1252.
    #[serde(rename = "macintosh", alias = "mac-roman")]
    #[value(name = "macintosh", alias = "mac-roman")]
    Macintosh,
}

impl Encoding {
    pub const ALL: [Encoding; 3] = [Encoding::Utf8, Encoding::Windows1252, Encoding::Macintosh];

    /// The encoding as `[enroll] encoding` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Macintosh => "macintosh",
        }
    }

    /// What a summary that does not say how its file was read read it as: Windows-1252, the
    /// only encoding beside UTF-8 before Mac Roman was.
    pub fn before_mac_roman() -> Encoding {
        Encoding::Windows1252
    }

    /// The encoding as a person calls it, in what callvault says of a file.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1252 => "Windows-1252",
            Encoding::Macintosh => "Mac Roman",
        }
    }

    /// What a line that is not UTF-8 is read as; none for UTF-8, which refuses it.
    fn fallback(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            Encoding::Utf8 => None,
            Encoding::Windows1252 => Some(encoding_rs::WINDOWS_1252),
            Encoding::Macintosh => Some(encoding_rs::MACINTOSH),
        }
    }

    /// The text of a record read from a file in this encoding, and whether it was read in
    /// its [`fallback`](Encoding::fallback) (it was not UTF-8); `None` when it is not UTF-8
    /// and UTF-8 is all this encoding reads.
    pub fn text(self, raw: &csv::ByteRecord) -> Option<(csv::StringRecord, bool)> {
        match csv::StringRecord::from_byte_record(raw.clone()) {
            Ok(record) => Some((record, false)),
            Err(_) => self.fallback().map(|fallback| {
                let record = raw
                    .iter()
                    .map(|field| fallback.decode_without_bom_handling(field).0)
                    .collect();
                (record, true)
            }),
        }
    }
}

/// `[enroll] separator`: what stands between the columns of an enrollment file. RFC 4180's
/// comma (ENROLL.md) by default; a core's "tab-delimited" or "pipe-delimited" export, or a
/// spreadsheet in a locale whose decimal mark is the comma (`;`), when named. Quotes work
/// as in CSV whatever the separator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Separator {
    #[default]
    #[serde(rename = ",")]
    #[value(name = "comma", alias = ",")]
    Comma,
    #[serde(rename = ";")]
    #[value(name = "semicolon", alias = ";")]
    Semicolon,
    #[serde(rename = "tab")]
    #[value(name = "tab")]
    Tab,
    #[serde(rename = "|")]
    #[value(name = "pipe", alias = "|")]
    Pipe,
}

impl Separator {
    pub const ALL: [Separator; 4] = [
        Separator::Comma,
        Separator::Semicolon,
        Separator::Tab,
        Separator::Pipe,
    ];

    /// The separator as `[enroll] separator` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Separator::Comma => ",",
            Separator::Semicolon => ";",
            Separator::Tab => "tab",
            Separator::Pipe => "|",
        }
    }

    /// The separator as `callvault enroll --separator` names it (its character is taken
    /// too).
    pub fn word(self) -> &'static str {
        match self {
            Separator::Comma => "comma",
            Separator::Semicolon => "semicolon",
            Separator::Tab => "tab",
            Separator::Pipe => "pipe",
        }
    }

    /// The separator's character.
    pub fn char(self) -> char {
        match self {
            Separator::Comma => ',',
            Separator::Semicolon => ';',
            Separator::Tab => '\t',
            Separator::Pipe => '|',
        }
    }

    /// The separator's byte, as the CSV reader takes it.
    pub fn byte(self) -> u8 {
        self.char() as u8
    }

    /// The separator that is `c`, if one is.
    pub fn of(c: char) -> Option<Separator> {
        Separator::ALL.into_iter().find(|s| s.char() == c)
    }
}

/// A file handed over as CSV that is no text at all, known by how it opens: what a person
/// uploads by mistake (the workbook rather than its CSV export, the archive it came in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCsv {
    /// A ZIP archive that is an Office Open XML (.xlsx) or OpenDocument (.ods) workbook.
    Workbook,
    /// An Excel 97-2003 workbook (.xls): an OLE2 compound file.
    OldWorkbook,
    /// Another ZIP archive.
    Zip,
    /// A gzip-compressed file (`members.csv.gz`).
    Gzip,
    /// An OpenPGP message ([`openpgp`]): a core's export encrypted for its SFTP transfer
    /// (`members.csv.pgp`, `.gpg`, `.asc`), as credit unions' file transfers commonly are.
    OpenPgp,
}

/// Whether a file opening with `start` is an OpenPGP message (RFC 9580): ASCII-armored
/// (`-----BEGIN PGP MESSAGE-----`, or a clear-signed `-----BEGIN PGP SIGNED MESSAGE-----`),
/// or binary, opening with the packet an encrypted message opens with (tag 1, a session key
/// encrypted to a public key, version 3 or 6; tag 3, to a passphrase, version 4 to 6) or a
/// signed one's compressed data (tag 8, algorithm 1 to 3). A packet's first octet has its
/// high bit set and the version (or algorithm) octet is a control character: no CSV text
/// opens so.
pub fn openpgp(start: &[u8]) -> bool {
    if start.starts_with(b"-----BEGIN PGP ") {
        return true;
    }
    let Some(&first) = start.first() else {
        return false;
    };
    // the packet's tag, and where its body (after the tag and length octets) begins
    let (tag, body) = match first >> 6 {
        // the current format: the tag in 6 bits, a length of 1, 2 or 5 octets
        0b11 => {
            let body = match start.get(1) {
                Some(0..=191) => 2,
                Some(192..=223) => 3,
                Some(255) => 6,
                _ => return false,
            };
            (first & 0x3F, body)
        }
        // the legacy format: the tag in 4 bits, the length's size in 2 (3: until the end)
        0b10 => {
            let body = match first & 0b11 {
                0 => 2,
                1 => 3,
                2 => 5,
                _ => 1,
            };
            ((first >> 2) & 0x0F, body)
        }
        _ => return false,
    };
    let version = start.get(body).copied();
    match tag {
        1 => matches!(version, Some(3 | 6)),
        3 => matches!(version, Some(4..=6)),
        8 => matches!(version, Some(1..=3)),
        _ => false,
    }
}

impl NotCsv {
    /// What a file opening with `start` is, if it is one of these.
    pub fn of(start: &[u8]) -> Option<NotCsv> {
        const ZIP: &[u8] = b"PK\x03\x04";
        const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
        if start.starts_with(OLE2) {
            return Some(NotCsv::OldWorkbook);
        }
        if start.starts_with(b"\x1F\x8B") {
            return Some(NotCsv::Gzip);
        }
        if openpgp(start) {
            return Some(NotCsv::OpenPgp);
        }
        if !start.starts_with(ZIP) {
            return None;
        }
        // the first entry's name (a local file header: its length at 26, the name at 30);
        // a workbook's is its manifest ("[Content_Types].xml", "mimetype") or a part of it
        let name = start
            .get(26..28)
            .map(|len| usize::from(u16::from_le_bytes([len[0], len[1]])))
            .and_then(|len| start.get(30..30 + len))
            .unwrap_or_default();
        let workbook = [
            &b"[Content_Types].xml"[..],
            b"mimetype",
            b"_rels/",
            b"xl/",
            b"docProps/",
        ]
        .iter()
        .any(|part| name.starts_with(part));
        Some(match workbook {
            true => NotCsv::Workbook,
            false => NotCsv::Zip,
        })
    }
}

impl std::fmt::Display for NotCsv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SAVE: &str = "in the spreadsheet, save it as \"CSV UTF-8 (Comma delimited)\" \
                            and hand over that file";
        match self {
            NotCsv::Workbook => write!(
                f,
                "the file is a spreadsheet workbook (.xlsx or .ods), not CSV text; {SAVE}"
            ),
            NotCsv::OldWorkbook => write!(
                f,
                "the file is an Excel 97-2003 workbook (.xls), not CSV text; {SAVE}"
            ),
            NotCsv::Zip => write!(
                f,
                "the file is a ZIP archive, not CSV text: unzip it and hand over the CSV file \
                 inside"
            ),
            NotCsv::Gzip => write!(
                f,
                "the file is gzip-compressed, not CSV text: decompress it (gunzip) and hand \
                 over the CSV file"
            ),
            NotCsv::OpenPgp => write!(
                f,
                "the file is an OpenPGP message (PGP or GnuPG: encrypted, or signed), not CSV \
                 text: decrypt it (gpg --decrypt FILE > NAME.csv) and hand over the \
                 CSV file"
            ),
        }
    }
}

/// A reader that remembers where every line it passed on ended: at a `\n`, or at a `\r`
/// no `\n` follows (the CR-only line ends of Excel's "CSV (Macintosh)", which the CSV
/// reader takes as line ends too).
pub struct LineCounter<R> {
    inner: R,
    offset: u64,
    /// Where each line ended: its `\n`, or its lone `\r`.
    newlines: Vec<u64>,
    /// Where each `\r` of a `\r\n` was.
    crlf: Vec<u64>,
    /// The last read ended with a `\r`, a line end unless the next byte is `\n`.
    cr_at_end: bool,
}

impl<R> LineCounter<R> {
    pub fn new(inner: R) -> Self {
        LineCounter {
            inner,
            offset: 0,
            newlines: Vec::new(),
            crlf: Vec::new(),
            cr_at_end: false,
        }
    }

    /// The 1-based line of the record `csv` says starts at `byte` (an offset into what this
    /// reader passed on). The CSV reader puts a record's start just past the first byte of
    /// the line end before it, so the rest of that line end and any blank lines are passed
    /// over first: the record's line is that of its first byte of content.
    pub fn line_of(&self, byte: u64) -> u64 {
        let mut ends = self.newlines.partition_point(|&o| o < byte);
        let mut crs = self.crlf.partition_point(|&o| o < byte);
        let mut at = byte;
        loop {
            if self.newlines.get(ends) == Some(&at) {
                ends += 1;
            } else if self.crlf.get(crs) == Some(&at) {
                crs += 1;
            } else {
                break;
            }
            at += 1;
        }
        ends as u64 + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let (base, bytes) = (self.offset, &buf[..n]);
        if std::mem::take(&mut self.cr_at_end) {
            match bytes.first() {
                Some(b'\n') => self.crlf.push(base - 1),
                _ => self.newlines.push(base - 1),
            }
        }
        for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            match (bytes[i], bytes.get(i + 1)) {
                // CRLF: its `\n` ends the line
                (b'\r', Some(b'\n')) => self.crlf.push(base + i as u64),
                (b'\r', None) => self.cr_at_end = true,
                _ => self.newlines.push(base + i as u64),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Whether every field of `record` is blank (`,,,,`): a row a spreadsheet writes for cells
/// formatted but left empty below the data, skipped as a blank line is, not counted.
pub fn blank_row(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|field| field.iter().all(u8::is_ascii_whitespace))
}

/// Whether a row's member id is the name of the member id's column (`member_id`, `Member
/// ID`): the header again, below the first line, as two files joined into one have it
/// (`cat a.csv b.csv`).
pub fn names_the_member_id(id: &str) -> bool {
    // a member id seldom starts so, or is as long as the name: no look further
    (9..=12).contains(&id.len())
        && id.starts_with(['m', 'M'])
        && super::names::column_name(id) == "member_id"
}

/// A row that is the header again: why it is no member.
pub const HEADER_AGAIN: &str = "this row names the columns, as the header does: two files \
     joined into one? It is no member; the rows around it were read as members";

/// A core's export may end with a trailer row that counts the file's rows (`TRAILER,1000`,
/// `TRL|000001000`, `Total Records: 1000`, `EOF`): what the words before the count may be,
/// as [`super::names::column_name`] writes them.
const TRAILER_WORDS: [&str; 15] = [
    "trailer",
    "trl",
    "trlr",
    "eof",
    "end",
    "end_of_file",
    "total",
    "totals",
    "total_records",
    "total_rows",
    "record_count",
    "records",
    "row_count",
    "rows",
    "count",
];

/// What a trailer row says: the count it gives, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub count: Option<u64>,
}

/// Whether `record` is shaped as a trailer: a first field of [`TRAILER_WORDS`] (a count
/// after them in the same field: `Total Records: 1000`), and at most one other field that
/// is not blank, a whole number (the count). Only a file's last row is taken for one.
pub fn trailer<'a>(fields: impl IntoIterator<Item = &'a str>) -> Option<Trailer> {
    let mut fields = fields.into_iter().map(str::trim);
    let first = fields.next()?;
    // a member id starts with a digit, most often: no look further
    if !first.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let words_end = first
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(first.len());
    let (words, number) = first.split_at(words_end);
    let words = super::names::column_name(words.trim_end_matches([' ', ':', '=', '#']));
    if !TRAILER_WORDS.contains(&words.as_str()) {
        return None;
    }
    // digits alone (not `+12`, which `parse` takes)
    let whole = |text: &str| {
        (text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().ok())
            .flatten()
    };
    let mut count = match number {
        "" => None,
        number => Some(whole(number)?),
    };
    for field in fields.filter(|f| !f.is_empty()) {
        match count {
            None => count = Some(whole(field)?),
            Some(_) => return None,
        }
    }
    Some(Trailer { count })
}

/// Whether a trailer's count `says` is the `rows` above it: counted alone, with the
/// header, or with the header and the trailer.
pub fn trailer_counts(says: u64, rows: u64) -> bool {
    (rows..=rows + 2).contains(&says)
}

/// Why a file whose last row is a trailer counting `says` rows is refused, holding `rows`
/// between its header and the trailer on `line` ([`trailer_counts`]). The count is not
/// said: a row taken for a trailer may be a member's whose id is such a word (`END`), its
/// number a PIN or an SSN's last four.
pub fn trailer_miscounts(line: u64, says: u64, rows: u64) -> Option<String> {
    (!trailer_counts(says, rows)).then(|| {
        format!(
            "line {line} is a trailer whose count is not the {rows} rows between the header \
             and it (nor them with the header, or the header and the trailer): the file may \
             have been cut short (or joined to another); nothing was applied. Export it again"
        )
    })
}

/// The line of the record `raw` holds, read by `reader`.
pub fn line_of<R: Read>(reader: &csv::Reader<LineCounter<R>>, raw: &csv::ByteRecord) -> u64 {
    raw.position()
        .map_or(0, |p| reader.get_ref().line_of(p.byte()))
}

/// Where a quote opened and never closed read the rows after it into one field: the
/// record's first and last lines. A field that holds a line break followed by a line with a
/// row's worth of separators (`width - 1`, at least one; commas in CSV) is such a field; a
/// value that really spans lines (a place of birth written on two) has few on its later
/// lines.
/// The lenient reader takes such a quote to the end of the file or to the next quote, so
/// without this check the rows in between would vanish from the file without a word.
pub fn swallowed_rows(
    reader: &csv::Reader<LineCounter<impl Read>>,
    record: &csv::ByteRecord,
    width: usize,
    separator: u8,
) -> Option<(u64, u64)> {
    let separators = width.saturating_sub(1).max(1);
    let swallowed = record.iter().any(|field| {
        field
            .split(|&b| b == b'\n')
            .skip(1)
            .any(|line| memchr::memchr_iter(separator, line).count() >= separators)
    });
    if !swallowed {
        return None;
    }
    let first = line_of(reader, record);
    // a field that runs to the end of the file ends with the file's last line break
    let breaks: usize = record
        .iter()
        .map(|f| memchr::memchr_iter(b'\n', f.trim_ascii_end()).count())
        .sum();
    Some((first, first + breaks as u64))
}

/// What [`swallowed_rows`] found, for a person to fix: the lines and what to do. Says
/// nothing of the field's text (it may hold an SSN or a PIN).
pub fn unclosed_quote(line: u64, last: u64) -> String {
    format!(
        "line {line}: a quote opens a field that runs on to line {last}, so the rows between \
         were read as its text (a quote that is never closed); nothing was applied. Close the \
         quote, or write a quote that is part of a value twice (\"\")"
    )
}

/// How many records past a first one that names no column a header is looked for in (a
/// report's title above it), by enrollment and `pins import`.
pub const HEADER_LOOKED_FOR_IN: usize = 10;

/// The header found below a first line that names no column (on line `first`): on `line`,
/// under a report's title.
pub fn header_below(first: u64, line: u64) -> String {
    format!(
        "no header row: line {first} names no column callvault knows, and line {line} names \
         the columns: delete the lines above line {line} (a report's title, say), so that the \
         file opens with its header"
    )
}

/// Whether a row of `fields` lines up with a header of `header` names: as many fields, or
/// more whose every one past the header's is empty (blanks alone count as empty). A core's
/// report writer that ends each field with a comma ends each data row with an empty field
/// the header does not have; no value is lost in one, and none is moved. A short row never
/// lines up: it may be the first half of a line broken in two.
pub fn lines_up<'a>(fields: impl IntoIterator<Item = &'a [u8]>, header: usize) -> bool {
    let mut count = 0;
    for field in fields {
        count += 1;
        if count > header && !field.iter().all(u8::is_ascii_whitespace) {
            return false;
        }
    }
    count >= header
}

/// A row (its `fields`) that does not line up with its header, said the same way for every
/// CSV file callvault reads: `1 field where the header has 2`. A short row with a
/// `separator` (a comma in CSV) inside a field is the file's last row with a quote never
/// closed (one that runs on over later rows is [`swallowed_rows`]): the rest of the row was
/// read as that field's text. Says nothing of the fields' text (it may hold an SSN or a PIN).
pub fn fields_mismatch<'a>(
    fields: impl IntoIterator<Item = &'a [u8]>,
    header: usize,
    separator: u8,
) -> String {
    let (mut row, mut comma) = (0usize, false);
    for field in fields {
        row += 1;
        comma |= field.contains(&separator);
    }
    let s = if row == 1 { "" } else { "s" };
    let quote = match row < header && comma {
        true => {
            ": a quote opens a field and is never closed, so the rest of the row was read as \
             its text (write a quote that is part of a value twice, \"\")"
        }
        false => "",
    };
    format!("{row} field{s} where the header has {header}{quote}")
}

/// A cell's text, out of the `="..."` that exports meant for Excel wrap a value in so that
/// it keeps its leading zeros (`="02134"`, `="0042"`: Excel shows the formula's result,
/// the text). Any other cell as it is.
pub fn excel_text(cell: &[u8]) -> &[u8] {
    match cell
        .strip_prefix(b"=\"")
        .and_then(|c| c.strip_suffix(b"\""))
    {
        Some(inner) if !inner.contains(&b'"') => inner,
        _ => cell,
    }
}

/// [`excel_text`] of a cell read as text.
pub fn excel_text_str(cell: &str) -> &str {
    // the wrapper is ASCII, so what is left is text
    std::str::from_utf8(excel_text(cell.as_bytes())).unwrap_or(cell)
}

/// Whether a refused row's `member_id` field may be written in its results line. Not when
/// it may hold more than the id: a quote never closed reads the rest of the row into the
/// field it opens (an SSN's digits, a PIN), and such text has a separator (a comma, or the
/// `;`, tab or `|` of a file read with another [`Separator`]), a quote or a line break in
/// it. Nor when it begins as a spreadsheet formula does (`=HYPERLINK(...)`): the results
/// file is opened in one. (An id too long is shown: it is what the admin must fix.)
pub fn id_shown(id: &str) -> bool {
    !crate::member::formula_lead(id)
        && !id
            .chars()
            .any(|c| c == '"' || c.is_control() || Separator::of(c).is_some())
}

#[cfg(test)]
mod tests;
