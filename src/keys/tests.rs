use super::*;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn auth(store: &Store, key: &str) -> Result<Client, AuthError> {
    KeyRing::new().authenticate(store, key, Utc::now())
}

#[test]
fn a_created_key_authenticates_with_its_role_and_only_its_hash_is_stored() {
    let (dir, store) = store();
    let new = create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    let client = auth(&store, &new.plaintext).unwrap();
    assert_eq!((client.name.as_str(), client.role), ("ivr1", Role::Ivr));
    // The secret is URL-safe base64 and may itself hold `_`: cut at the fixed id width.
    let secret = new.plaintext["cvk_".len() + 12 + 1..].to_string();
    assert_eq!(secret.len(), 43, "32 bytes of base64 without padding");
    drop(store);
    let bytes = std::fs::read(dir.path().join(crate::store::DB_FILE_NAME)).unwrap();
    let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
    assert!(!found, "the key's secret is in the store file");
}

#[test]
fn wrong_altered_and_revoked_keys_are_refused() {
    let (_d, store) = store();
    let new = create(&store, "agent1", Role::Agent, "test", Utc::now()).unwrap();
    let key = new.plaintext.to_string();
    let mut altered = key.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let unknown_id = format!("cvk_000000000000_{}", &key[17..]);
    let cases = [
        (altered.as_str(), Rejection::Unknown),
        (unknown_id.as_str(), Rejection::Unknown),
        ("cvk_short", Rejection::Malformed),
        // the id is 12 hex digits: a hex id of another length, or 12 other characters
        ("cvk_abc123_secret", Rejection::Malformed),
        ("cvk_zzzzzzzzzzzz_secret", Rejection::Malformed),
        ("Bearer", Rejection::Malformed),
        ("", Rejection::Malformed),
    ];
    for (presented, want) in cases {
        match auth(&store, presented) {
            Err(AuthError::Rejected(r)) => assert_eq!(r, want, "{presented:?}"),
            other => panic!("{presented:?}: {other:?}"),
        }
    }
    revoke(&store, "agent1", "test", Utc::now(), LastAdmin::Keep).unwrap();
    assert!(matches!(
        auth(&store, &key),
        Err(AuthError::Rejected(Rejection::Revoked))
    ));
    assert!(matches!(
        revoke(&store, "agent1", "test", Utc::now(), LastAdmin::Keep),
        Err(KeyError::NoSuchKey { meant: None, .. })
    ));
}

#[test]
fn revoking_a_name_no_active_key_has_suggests_the_one_meant() {
    let (_d, store) = store();
    for (name, role) in [("admin", Role::Admin), ("ivr-east", Role::Ivr)] {
        create(&store, name, role, "test", Utc::now()).unwrap();
    }
    create(&store, "desk7", Role::Agent, "test", Utc::now()).unwrap();
    revoke(&store, "desk7", "test", Utc::now(), LastAdmin::Keep).unwrap();
    // (name given, what the refusal says)
    let cases = [
        (
            "admn",
            "no active key named \"admn\"; did you mean \"admin\"?",
        ),
        (
            "ivr_east",
            "no active key named \"ivr_east\"; did you mean \"ivr-east\"?",
        ),
        (
            "IVR-EAST",
            "no active key named \"IVR-EAST\"; did you mean \"ivr-east\"?",
        ),
        // a revoked key is not offered
        ("desk7", "no active key named \"desk7\""),
        ("desk8", "no active key named \"desk8\""),
        ("payroll", "no active key named \"payroll\""),
    ];
    for (name, says) in cases {
        let e = revoke(&store, name, "test", Utc::now(), LastAdmin::Keep).unwrap_err();
        assert_eq!(e.to_string(), says);
    }
    let Err(e) = create(&store, "ivr-east", Role::Agent, "test", Utc::now()) else {
        panic!("a second active key named ivr-east was made");
    };
    assert_eq!(
        e.to_string(),
        "an active ivr key is named \"ivr-east\" already: give the new key another name, or \
         revoke that one first"
    );
}

#[test]
fn names_are_unique_among_active_keys_and_checked() {
    let (_d, store) = store();
    create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    assert!(matches!(
        create(&store, "ivr1", Role::Agent, "test", Utc::now()),
        Err(KeyError::NameTaken {
            role: Role::Ivr,
            ..
        })
    ));
    revoke(&store, "ivr1", "test", Utc::now(), LastAdmin::Keep).unwrap();
    create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    let long = "x".repeat(65);
    let bad = [
        ("", "the name is empty"),
        ("has space", "' ' is not one of them"),
        ("semi;colon", "';' is not one of them"),
        ("caf\u{e9}", "'\u{e9}' is not one of them"),
        (long.as_str(), "the name has 65 characters"),
    ];
    for (name, problem) in bad {
        match create(&store, name, Role::Ivr, "test", Utc::now()) {
            Err(e @ KeyError::BadName(_)) => assert_eq!(
                e.to_string(),
                format!(
                    "key names are 1-64 characters of letters, digits, '.', '-' and '_': {problem}"
                ),
                "{name:?}"
            ),
            other => panic!("{name:?}: {:?}", other.map(|k| k.info)),
        }
    }
    create(&store, &"x".repeat(64), Role::Ivr, "test", Utc::now()).unwrap();
    create(&store, "a.b-c_D9", Role::Ivr, "test", Utc::now()).unwrap();
    let listed = list(&store.begin_read().unwrap()).unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed.iter().filter(|k| k.revoked_at.is_none()).count(), 3);
}

#[test]
fn creating_and_revoking_are_audited_without_the_key() {
    let (_d, store) = store();
    let new = create(&store, "app1", Role::App, "cli", Utc::now()).unwrap();
    revoke(&store, "app1", "cli", Utc::now(), LastAdmin::Keep).unwrap();
    let mut out = Vec::new();
    crate::audit::export(&store.begin_read().unwrap(), None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("api_key_created") && text.contains("api_key_revoked"),
        "{text}"
    );
    assert!(!text.contains(new.plaintext.as_str()));
    assert!(text.contains(&new.info.id), "the public id names the key");
}

#[test]
fn keys_are_read_from_every_accepted_header_form() {
    use base64::engine::general_purpose::STANDARD;
    let basic = format!("Basic {}", STANDARD.encode("ivr:cvk_k"));
    let basic_no_user = format!("Basic {}", STANDARD.encode(":cvk_k"));
    let basic_user_only = format!("Basic {}", STANDARD.encode("cvk_k:"));
    let basic_neither = format!("Basic {}", STANDARD.encode(":"));
    let basic_quoted = format!("Basic {}", STANDARD.encode("ivr:\"cvk_k\""));
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<&'a str, Rejection>);
    let cases: [Case; 16] = [
        (Some("Bearer cvk_k"), None, Ok("cvk_k")),
        (Some("bearer   cvk_k "), None, Ok("cvk_k")),
        (None, Some("cvk_k"), Ok("cvk_k")),
        (Some(&basic), None, Ok("cvk_k")),
        (Some(&basic_no_user), None, Ok("cvk_k")),
        (Some(&basic_user_only), None, Ok("cvk_k")),
        (Some(&basic_neither), None, Ok("")),
        (Some(&basic_quoted), None, Ok("cvk_k")),
        (Some("Bearer \"cvk_k\""), None, Ok("cvk_k")),
        (Some("Bearer 'cvk_k'"), None, Ok("cvk_k")),
        (None, Some(" \"cvk_k\" "), Ok("cvk_k")),
        (Some("Bearer \"cvk_k"), None, Ok("\"cvk_k")),
        (Some("Bearer \"cvk_k'"), None, Ok("\"cvk_k'")),
        (None, None, Err(Rejection::Missing)),
        (Some("Digest abc"), None, Err(Rejection::Malformed)),
        (Some("Basic !!!"), None, Err(Rejection::Malformed)),
    ];
    for (authorization, x_api_key, want) in cases {
        let got = from_headers(authorization, x_api_key);
        assert_eq!(
            got.as_ref().map(|k| k.as_str()),
            want.as_ref().map(|k| *k),
            "{authorization:?} {x_api_key:?}"
        );
    }
}

#[test]
fn one_ring_follows_keys_created_and_revoked_after_it_first_read_them() {
    let (_d, store) = store();
    let ring = KeyRing::new();
    let first = create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    assert_eq!(
        ring.authenticate(&store, &first.plaintext, Utc::now())
            .unwrap()
            .name,
        "ivr1"
    );
    let second = create(&store, "agent1", Role::Agent, "test", Utc::now()).unwrap();
    assert_eq!(
        ring.authenticate(&store, &second.plaintext, Utc::now())
            .unwrap()
            .role,
        Role::Agent,
        "a key created after the ring read the table"
    );
    revoke(&store, "ivr1", "test", Utc::now(), LastAdmin::Keep).unwrap();
    assert!(matches!(
        ring.authenticate(&store, &first.plaintext, Utc::now()),
        Err(AuthError::Rejected(Rejection::Revoked))
    ));
    assert!(
        ring.authenticate(&store, &second.plaintext, Utc::now())
            .is_ok()
    );
}

/// A key's record as stored.
fn get_raw(store: &Store, id: &str) -> StoredKey {
    let txn = store.begin_read().unwrap();
    let table = txn.open_table(tables::API_KEYS).unwrap();
    StoredKey::decode(table.get(id).unwrap().unwrap().value()).unwrap()
}

/// Writes a key record straight into the table, as no code but `create` and `revoke` does.
fn put_raw(store: &Store, id: &str, bytes: &[u8]) {
    let txn = store.begin_write().unwrap();
    txn.open_table(tables::API_KEYS)
        .unwrap()
        .insert(id, bytes)
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn the_ring_reads_the_table_again_only_when_the_store_counts_a_change() {
    let (_d, store) = store();
    let ring = KeyRing::new();
    let new = create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    ring.authenticate(&store, &new.plaintext, Utc::now())
        .unwrap();
    // the same key's record, revoked, written without counting the change
    let mut record = get_raw(&store, &new.info.id);
    record.revoked_at = Some(Utc::now());
    put_raw(&store, &new.info.id, &record.encode().unwrap());
    assert!(
        ring.authenticate(&store, &new.plaintext, Utc::now())
            .is_ok(),
        "held: the table was not read again"
    );
    store.keys_changed();
    assert!(matches!(
        ring.authenticate(&store, &new.plaintext, Utc::now()),
        Err(AuthError::Rejected(Rejection::Revoked))
    ));
}

#[test]
fn a_record_that_cannot_be_read_fails_only_its_own_key() {
    let (_d, store) = store();
    let good = create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    let bad = create(&store, "ivr2", Role::Ivr, "test", Utc::now()).unwrap();
    let mut short_hash = get_raw(&store, &bad.info.id);
    short_hash.hash.truncate(10);
    put_raw(&store, &bad.info.id, &short_hash.encode().unwrap());
    put_raw(&store, "00000000000a", b"not json");
    store.keys_changed();
    let ring = KeyRing::new();
    assert!(
        ring.authenticate(&store, &good.plaintext, Utc::now())
            .is_ok()
    );
    for (presented, why) in [
        (bad.plaintext.to_string(), "hash is not 32 bytes of hex"),
        (format!("cvk_00000000000a_{}", "x".repeat(43)), "expected"),
    ] {
        match ring.authenticate(&store, &presented, Utc::now()) {
            Err(AuthError::Store(StoreError::Corrupt(m))) => assert!(m.contains(why), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

/// A role's word is the one the API, the CLI and the config use, and reads back as itself.
#[test]
fn roles_read_back_from_their_words() {
    for (role, word) in [
        (Role::Ivr, "ivr"),
        (Role::Agent, "agent"),
        (Role::App, "app"),
        (Role::Admin, "admin"),
    ] {
        assert_eq!((role.as_str(), role.to_string()), (word, word.to_string()));
        assert_eq!(word.parse::<Role>().unwrap(), role);
        assert_eq!(serde_json::to_value(role).unwrap(), word);
    }
    assert!(matches!("Admin".parse::<Role>(), Err(KeyError::BadRole(r)) if r == "Admin"));
}

/// How a client is named in the audit log, and what a refused key is told: each refusal in
/// its own words.
#[test]
fn clients_are_named_by_how_they_came_and_refusals_by_why() {
    let key = Client {
        id: "a96b8796e6c0".into(),
        name: "ivr1".into(),
        role: Role::Ivr,
        via: Credential::Key,
        agent: None,
    };
    assert_eq!(key.actor(), "key:ivr1");
    assert_eq!(Client::from_cert("pbx-a", Role::Ivr).actor(), "cert:pbx-a");
    let desk = Client {
        agent: Some("j.doe@cu.example".into()),
        ..key.clone()
    };
    assert_eq!(desk.actor(), "key:ivr1/agent:j.doe@cu.example");
    let cert = Client {
        agent: Some("GEN-4471".into()),
        ..Client::from_cert("desk-host", Role::Agent)
    };
    assert_eq!(cert.actor(), "cert:desk-host/agent:GEN-4471");
    let said: Vec<&str> = [
        Rejection::Missing,
        Rejection::Malformed,
        Rejection::Unknown,
        Rejection::Revoked,
    ]
    .map(Rejection::as_str)
    .to_vec();
    assert_eq!(
        said,
        [
            "no API key presented",
            "API key is malformed",
            "API key is not valid",
            "API key has been revoked"
        ]
    );
}

/// `init` mints an admin key only while no active one exists.
#[test]
fn an_active_admin_key_is_one_of_role_admin_not_revoked() {
    let (_d, store) = store();
    let has = |store: &Store| has_active_admin(&store.begin_read().unwrap()).unwrap();
    assert!(!has(&store), "no keys");
    create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    assert!(!has(&store), "no admin key");
    create(&store, "root", Role::Admin, "test", Utc::now()).unwrap();
    assert!(has(&store));
    revoke(&store, "root", "test", Utc::now(), LastAdmin::MayGo).unwrap();
    assert!(!has(&store), "its admin key revoked");
}

/// Over the API the last active admin key stays (it is what manages keys there); on the
/// host it may go, `key create` needing no key.
#[test]
fn the_last_admin_key_is_kept_over_the_api_and_may_go_on_the_host() {
    let (_d, store) = store();
    let has = |store: &Store| has_active_admin(&store.begin_read().unwrap()).unwrap();
    create(&store, "root", Role::Admin, "test", Utc::now()).unwrap();
    create(&store, "ops", Role::Admin, "test", Utc::now()).unwrap();
    create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    // one of two admin keys may go; then the other is the last
    revoke(&store, "ops", "test", Utc::now(), LastAdmin::Keep).unwrap();
    let e = revoke(&store, "root", "test", Utc::now(), LastAdmin::Keep).unwrap_err();
    assert!(
        matches!(&e, KeyError::LastAdmin { name } if name == "root"),
        "{e}"
    );
    assert!(e.to_string().contains("callvault key revoke root"), "{e}");
    assert!(has(&store), "refused: nothing changed");
    // a key of another role is no admin key, whatever is left
    revoke(&store, "ivr1", "test", Utc::now(), LastAdmin::Keep).unwrap();
    revoke(&store, "root", "test", Utc::now(), LastAdmin::MayGo).unwrap();
    assert!(!has(&store));
}

/// What an `X-Agent-Id` may hold, as a table: a login, an e-mail address, a user id; nothing
/// that could read as another part of the actor, hide in a log line, or run long.
#[test]
fn an_agent_id_is_a_plain_login_of_at_most_64_characters() {
    let longest = "a".repeat(AGENT_ID_MAX);
    let too_long = "a".repeat(AGENT_ID_MAX + 1);
    for (raw, ok) in [
        ("jdoe", true),
        ("j.doe@cu.example", true),
        ("GEN-4471_b", true),
        ("CU\\jdoe", true),
        (longest.as_str(), true),
        ("", false),
        (too_long.as_str(), false),
        ("j doe", false),
        ("jdoe/agent:admin", false),
        ("jdoe\nkey:admin", false),
        ("jd\u{f6}e", false),
        ("jdoe,x", false),
    ] {
        assert_eq!(agent_id(raw).is_ok(), ok, "{raw:?}");
    }
    assert_eq!(agent_id("jdoe"), Ok("jdoe"));
    assert_eq!(
        agent_id(&too_long).unwrap_err(),
        "X-Agent-Id has 65 characters; at most 64"
    );
    // 40 characters of two bytes each: told what is wrong with them, not miscounted
    let wide = "\u{f6}".repeat(40);
    assert_eq!(
        agent_id(&wide).unwrap_err(),
        "X-Agent-Id may hold only ASCII letters, digits and . _ @ - \\ (a login, DOMAIN\\user, or a user id)"
    );
}

/// When each key was last used, as `list` shows it.
fn last_used(store: &Store) -> Vec<(String, Option<DateTime<Utc>>)> {
    list(&store.begin_read().unwrap())
        .unwrap()
        .into_iter()
        .map(|k| (k.name, k.last_used_at))
        .collect()
}

/// A key's use is noted by the check that passes it and written down by `write_use`: to
/// the second, once, the later time kept; a key refused (wrong secret, revoked) is not
/// used; a key made or revoked meanwhile loses no other key's use.
#[test]
fn a_key_is_noted_used_by_each_check_it_passes_and_written_down_once() {
    let (_d, store) = store();
    let at = |s: i64| DateTime::from_timestamp(1_796_000_000 + s, 0).unwrap();
    let ivr = create(&store, "ivr1", Role::Ivr, "test", at(0)).unwrap();
    let agent = create(&store, "agent1", Role::Agent, "test", at(1)).unwrap();
    let ring = KeyRing::new();
    assert_eq!(ring.write_use(&store).unwrap(), 0, "nothing held yet");

    ring.authenticate(
        &store,
        &ivr.plaintext,
        at(10) + chrono::Duration::milliseconds(700),
    )
    .unwrap();
    assert_eq!(ring.write_use(&store).unwrap(), 1);
    assert_eq!(
        last_used(&store),
        [
            ("ivr1".to_string(), Some(at(10))),
            ("agent1".to_string(), None)
        ]
    );
    assert_eq!(ring.write_use(&store).unwrap(), 0, "written already");
    ring.authenticate(&store, &ivr.plaintext, at(10)).unwrap();
    ring.authenticate(&store, &ivr.plaintext, at(5)).unwrap();
    assert_eq!(ring.write_use(&store).unwrap(), 0, "no later use");

    // refused: a wrong secret for agent1, and ivr1 once revoked
    let wrong = format!("cvk_{}_{}", agent.info.id, "x".repeat(43));
    assert!(ring.authenticate(&store, &wrong, at(20)).is_err());
    ring.authenticate(&store, &ivr.plaintext, at(30)).unwrap();
    revoke(&store, "ivr1", "test", at(31), LastAdmin::Keep).unwrap();
    assert!(ring.authenticate(&store, &ivr.plaintext, at(40)).is_err());
    // a key made after the ring read the table, and agent1 used after that
    let app = create(&store, "app1", Role::App, "test", at(41)).unwrap();
    ring.authenticate(&store, &agent.plaintext, at(50)).unwrap();
    ring.authenticate(&store, &app.plaintext, at(60)).unwrap();
    assert_eq!(ring.write_use(&store).unwrap(), 3);
    assert_eq!(
        last_used(&store),
        [
            ("ivr1".to_string(), Some(at(30))),
            ("agent1".to_string(), Some(at(50))),
            ("app1".to_string(), Some(at(60))),
        ]
    );
    assert!(
        get_raw(&store, &ivr.info.id).revoked_at.is_some(),
        "still revoked"
    );

    // another ring (a restart) that sees an earlier use than the record's keeps the record's
    let again = KeyRing::new();
    again
        .authenticate(&store, &agent.plaintext, at(45))
        .unwrap();
    assert_eq!(again.write_use(&store).unwrap(), 0);
    assert_eq!(get_raw(&store, &agent.info.id).last_used_at, Some(at(50)));
}

/// A key's record has no `last_used_at` until it is used, so records written before the
/// field existed and those of unused keys read alike, and as never used.
#[test]
fn a_record_without_a_use_reads_as_never_used() {
    let (_d, store) = store();
    let new = create(&store, "ivr1", Role::Ivr, "test", Utc::now()).unwrap();
    let record = get_raw(&store, &new.info.id);
    let bytes = String::from_utf8(record.encode().unwrap()).unwrap();
    assert!(!bytes.contains("last_used_at"), "{bytes}");
    let older = format!(
        r#"{{"id":"{}","name":"ivr1","role":"ivr","hash":"{}","created_at":"2026-01-01T00:00:00Z","revoked_at":null}}"#,
        new.info.id, record.hash
    );
    assert_eq!(
        StoredKey::decode(older.as_bytes()).unwrap().last_used_at,
        None
    );
    let ring = KeyRing::new();
    ring.authenticate(&store, &new.plaintext, Utc::now())
        .unwrap();
    ring.write_use(&store).unwrap();
    let used = String::from_utf8(get_raw(&store, &new.info.id).encode().unwrap()).unwrap();
    assert!(used.contains("\"last_used_at\":\""), "{used}");
}
