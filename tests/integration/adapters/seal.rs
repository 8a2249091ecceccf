//! The HMAC seal in KMS (moto): what one key seals it opens, and nothing changed or forged.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use integration_tests::lab::TestStack;
use state::seal::{MAX_PAYLOAD, SealError};

#[tokio::test]
async fn a_sealed_value_opens_with_its_key_and_a_changed_or_forged_one_does_not() {
    let stack = TestStack::new().await;
    let key = stack.new_mac_key().await;
    let payload = br#"{"nonce":"n-1","tenant_id":"8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11"}"#;
    let sealed = key.seal(payload).await.expect("sealed");
    assert!(
        sealed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "URL-safe: {sealed}"
    );
    assert_eq!(key.open(&sealed).await.expect("opened"), payload);

    let (body, mac) = sealed.split_once('.').expect("two parts");
    let mut changed = URL_SAFE_NO_PAD.decode(body).expect("base64");
    changed[10] ^= 1;
    let changed = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(&changed));
    assert_eq!(
        key.open(&changed).await,
        Err(SealError::Tampered),
        "a changed payload"
    );
    let mut other_mac = URL_SAFE_NO_PAD.decode(mac).expect("base64");
    other_mac[0] ^= 1;
    let forged = format!("{body}.{}", URL_SAFE_NO_PAD.encode(&other_mac));
    assert_eq!(key.open(&forged).await, Err(SealError::Tampered), "a changed MAC");
    let elsewhere = stack
        .new_mac_key()
        .await
        .seal(payload)
        .await
        .expect("sealed by another key");
    assert_eq!(
        key.open(&elsewhere).await,
        Err(SealError::Tampered),
        "another key's seal"
    );

    for malformed in ["", "no-dot", "!!.AAAA", "AAAA.!!", ".AAAA", "AAAA."] {
        assert!(
            matches!(key.open(malformed).await, Err(SealError::Malformed { .. })),
            "{malformed:?}"
        );
    }
    let long = "A".repeat(MAX_PAYLOAD * 2);
    assert!(matches!(key.open(&long).await, Err(SealError::Malformed { .. })));
    assert!(matches!(
        key.seal(&vec![b'x'; MAX_PAYLOAD + 1]).await,
        Err(SealError::Malformed { .. })
    ));
}
