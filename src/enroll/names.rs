//! How the names in a CSV header are read, for pre-enrollment and `pins import` alike: in
//! any case and with any separator between their words (`Member ID` is `member_id`), the
//! names cores and spreadsheets give the columns (hints, never read as the columns), and a
//! header written with another separator than the comma.

/// A header's name as callvault's columns are named: trimmed, in lower case, with the
/// spaces, hyphens or underscores between its words as one `_`. `Member ID`, `member-id`
/// and `MEMBER_ID` are all `member_id`, as a core's report or a spreadsheet names them.
pub fn column_name(raw: &str) -> String {
    let words = raw
        .split([' ', '-', '_'])
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase);
    words.collect::<Vec<_>>().join("_")
}

/// The separator of a header that was read (split by `read_with`) as one column and, split
/// by it, names a column `known` takes (`member_id;mobile_phone`, tab-separated,
/// `|`-separated, or comma-separated when another was expected): for a file exported with
/// another separator than the one it was read with.
pub fn other_separator(
    header: &[&str],
    known: impl Fn(&str) -> bool,
    read_with: char,
) -> Option<char> {
    let [only] = header else {
        return None;
    };
    [',', ';', '\t', '|']
        .into_iter()
        .filter(|sep| *sep != read_with)
        .find(|sep| only.contains(*sep) && only.split(*sep).any(|name| known(&column_name(name))))
}

/// The separator an Excel separator line names (`sep=,`, `sep=;`, any case), which tools
/// writing CSV for Excel put before the header, from that line's fields read with
/// `read_with` (`sep=,` read with commas is `sep=` and an empty field). `None` when the
/// fields are no such line.
pub fn separator_line(fields: &[&str], read_with: char) -> Option<char> {
    let named = |f: &str| f.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("sep="));
    match fields {
        [first, ""] if first.len() == 4 && named(first) => Some(read_with),
        [only] if named(only) => {
            let mut rest = only[4..].chars();
            rest.next().filter(|_| rest.next().is_none())
        }
        _ => None,
    }
}

/// What cores' reports and spreadsheets name the columns, for the "did you mean" hint, with
/// the words run together (`Date of Birth`, `DateOfBirth`: `dateofbirth`). A hint only:
/// such a column is never read as the one it names, since what it holds is the file's to
/// say (a `Phone` may be a landline). A generic phone is offered as `other_phones`, which
/// identifies without the trust of a verified mobile number.
pub(crate) const OTHER_NAMES: [(&str, &[&str]); 17] = [
    (
        "member_id",
        &[
            "membernumber",
            "memberno",
            "membernum",
            "membernbr",
            "mbrid",
            "mbrno",
            "mbrnum",
        ],
    ),
    (
        "mobile_phone",
        &[
            "mobile",
            "cell",
            "cellphone",
            "mobilenumber",
            "cellnumber",
            "mobilephonenumber",
        ],
    ),
    (
        "other_phones",
        &[
            "phone",
            "phonenumber",
            "homephone",
            "workphone",
            "altphone",
            "alternatephone",
        ],
    ),
    ("first_name", &["first", "fname", "firstname", "givenname"]),
    (
        "last_name",
        &["last", "lname", "lastname", "surname", "familyname"],
    ),
    ("email", &["emailaddress", "mail"]),
    ("dob", &["dateofbirth", "birthdate", "birthday", "dateborn"]),
    ("zip", &["zipcode", "postalcode", "postcode", "zip5"]),
    (
        "ssn_last4",
        &[
            "ssn",
            "ssn4",
            "last4",
            "lastfour",
            "ssnlastfour",
            "socialsecuritynumber",
            "tin",
        ],
    ),
    (
        "account_numbers",
        &[
            "accountnumber",
            "account",
            "accounts",
            "acct",
            "acctno",
            "acctnum",
            "accountno",
        ],
    ),
    ("phone_type", &["mobilephonetype", "phonekind"]),
    ("place_of_birth", &["birthplace", "cityofbirth"]),
    (
        "savings_balance",
        &["savings", "sharebalance", "sharesavings", "savingsbal"],
    ),
    (
        "last_txn_amount",
        &["lasttransactionamount", "lasttxnamt", "lasttranamount"],
    ),
    ("last_txn_date", &["lasttransactiondate", "lasttrandate"]),
    ("fraud_flag", &["fraud", "fraudalert"]),
    (
        "profile_changed_at",
        &[
            "profilechanged",
            "profilechangedate",
            "lastprofilechange",
            "lastchanged",
        ],
    ),
];

/// Whether a header's `name` is a column of PINs (`pin`, `PIN Number`, `ivr_pin`,
/// `passcode`...), which an enrollment file must not hold: PINs are imported with
/// `callvault pins import`, and a file of them must not lie in `processed/` unnoticed.
pub fn pin_column(name: &str) -> bool {
    const PIN_NAMES: [&str; 9] = [
        "pin",
        "pins",
        "pinnumber",
        "pincode",
        "ivrpin",
        "phonepin",
        "telephonepin",
        "audiopin",
        "passcode",
    ];
    PIN_NAMES.contains(&column_name(name).replace('_', "").as_str())
}

/// The column cores and spreadsheets name as `name` ([`OTHER_NAMES`]), if any.
pub fn known_as(name: &str) -> Option<&'static str> {
    let run_together = column_name(name).replace('_', "");
    OTHER_NAMES
        .iter()
        .find(|(_, names)| names.contains(&run_together.as_str()))
        .map(|(column, _)| *column)
}
