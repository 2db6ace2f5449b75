//! The built-in list of PINs too common to allow.
//!
//! Sources:
//! - Nick Berry, "PIN analysis", DataGenetics, 2012
//!   (<https://www.datagenetics.com/blog/september32012/>): 3.4 million leaked 4-digit PINs;
//!   `1234` alone is 10.7 % of them, the top 20 (listed below) about 27 %; couplets (`1212`),
//!   pairs (`1122`), years (`19xx`) and dates (`MMDD`) dominate the head of the distribution,
//!   with keypad shapes (`2580`) close behind.
//! - Joseph Bonneau, Sören Preibusch, Ross Anderson, "A birthday present every eleven wallets?
//!   The security of customer-chosen banking PINs", Financial Cryptography 2012: with a
//!   top-100 blocklist a blind guesser's three tries succeed about 0.2 % of the time.
//! - Philipp Markert, Daniel V. Bailey, Maximilian Golla, Markus Dürmuth, Adam J. Aviv, "This
//!   PIN Can Be Easily Guessed", IEEE S&P 2020: small blocklists barely help; blocking about
//!   10 % of the 4-digit space is where throttled guessing stops paying.
//! - Ding Wang, Qianchen Gu, Xinyi Huang, Ping Wang, "Understanding Human-Chosen PINs:
//!   Characteristics, Distribution and Security", ASIA CCS 2017, for 6-digit PINs.
//!
//! So the list is those studies' explicit heads plus the shapes they found common, which for
//! 4 digits comes to about 9 % of the space (a test pins the figure). Repeating digits and
//! straight sequences are refused by their own rules before the list is consulted.

/// The DataGenetics top 20, then other heads named by the studies above.
const EXPLICIT: &[&str] = &[
    // DataGenetics 2012, top 20 in order
    "1234", "1111", "0000", "1212", "7777", "1004", "2000", "4444", "2222", "6969", "9999", "3333",
    "5555", "6666", "1122", "1313", "8888", "4321", "2001", "1010",
    // keypad shapes: columns, diagonals, corners, the cross
    "2580", "0852", "1470", "0741", "3690", "0963", "7410", "9630", "1590", "9510", "3570", "7530",
    "1357", "7531", "2468", "8642", "1379", "9731", "1397", "7913", "2846", "8246", "4682", "5280",
    "1478", "3698", "7896", "1236", // words and jokes on the keypad
    "5683", "0007", "1001", "0001", "1123", "5150", "8520", "0911", "9111", "1230",
    // Wang et al. 2017, the 6-digit head
    "123456", "654321", "111111", "000000", "123123", "666666", "121212", "112233", "789456",
    "159753", "888888", "147258", "520520", "520131", "123321", "101010", "147852", "987654",
    "258369", "456789", "123654", "111222", "369258", "741852", "159357", "456123", "321654",
    "696969", "112358", "131313", "777777", "999999", "222222", "555555", "333333", "444444",
];

/// Whether `pin` (digits only) is on the built-in list.
pub fn contains(pin: &str) -> bool {
    EXPLICIT.contains(&pin) || common_shape(pin.as_bytes())
}

fn common_shape(d: &[u8]) -> bool {
    match d.len() {
        // ABAB couplets, AABB pairs, ABBA mirrors, years 1900-2029, MMDD dates
        4 => {
            (d[0] == d[2] && d[1] == d[3])
                || (d[0] == d[1] && d[2] == d[3])
                || (d[0] == d[3] && d[1] == d[2])
                || is_year(d)
                || is_month_day(&d[..2], &d[2..])
        }
        // ABABAB, AABBCC, ABCABC, ABCCBA, and MMDDYY / DDMMYY / YYYYMM-like years
        6 => {
            (d[0] == d[2] && d[2] == d[4] && d[1] == d[3] && d[3] == d[5])
                || (d[0] == d[1] && d[2] == d[3] && d[4] == d[5])
                || d[..3] == d[3..]
                || (d[0] == d[5] && d[1] == d[4] && d[2] == d[3])
                || is_month_day(&d[..2], &d[2..4])
                || is_month_day(&d[2..4], &d[..2])
        }
        _ => false,
    }
}

fn two(d: &[u8]) -> u32 {
    u32::from(d[0].wrapping_sub(b'0')) * 10 + u32::from(d[1].wrapping_sub(b'0'))
}

fn is_year(d: &[u8]) -> bool {
    let (century, year) = (two(&d[..2]), two(&d[2..]));
    century == 19 || (century == 20 && year <= 29)
}

fn is_month_day(month: &[u8], day: &[u8]) -> bool {
    const DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (m, day) = (two(month), two(day));
    (1..=12).contains(&m) && day >= 1 && day <= DAYS[(m - 1) as usize]
}
