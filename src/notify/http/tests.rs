use super::*;

#[test]
fn a_gateway_ca_file_without_a_certificate_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("sms-ca.pem");
    std::fs::write(&ca, "# paste the gateway's CA here\n").unwrap();
    let Err(SendError::Failed(message)) = client("notify.sms", Some(&ca), 1_000) else {
        panic!("an empty CA file was taken");
    };
    assert!(message.starts_with("notify.sms.ca_file "), "{message}");
    assert!(message.contains("no certificate in the file"), "{message}");
    let pair = rcgen::generate_simple_self_signed(vec!["sms.cu.example".into()]).unwrap();
    std::fs::write(&ca, pair.cert.pem()).unwrap();
    assert!(client("notify.sms", Some(&ca), 1_000).is_ok());
}
