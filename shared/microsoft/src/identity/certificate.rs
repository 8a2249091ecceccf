//! A self-signed X.509 certificate for the app registration, signed by an [`AssertionSigner`], so
//! a key that never leaves a key service (AWS KMS) can still have the certificate Entra ID needs:
//! upload it to the app registration's "Certificates & secrets".

use chrono::{DateTime, Datelike, Utc};

use super::{
    pem,
    signer::{AssertionSigner, SignerError},
};

/// `sha256WithRSAEncryption` (1.2.840.113549.1.1.11) with its NULL parameters.
const SHA256_WITH_RSA: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// `rsaEncryption` (1.2.840.113549.1.1.1) with its NULL parameters.
const RSA_ENCRYPTION: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// `commonName` (2.5.4.3).
const COMMON_NAME: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];

/// What the certificate says.
#[derive(Debug, Clone)]
pub struct CertificateRequest<'a> {
    /// Subject and issuer common name, e.g. `m365-inline`.
    pub common_name: &'a str,
    /// The key's public half as DER `SubjectPublicKeyInfo` (what KMS `GetPublicKey` answers).
    pub public_key_info: &'a [u8],
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity (Entra stops accepting the certificate then: rotate before).
    pub not_after: DateTime<Utc>,
    /// The serial number's bytes (e.g. 16 random bytes).
    pub serial: [u8; 16],
}

/// The PEM certificate for `request`, signed by `key` (the private half of its public key).
pub async fn self_signed(
    request: &CertificateRequest<'_>,
    key: &dyn AssertionSigner,
) -> Result<String, SignerError> {
    let tbs = to_be_signed(request);
    let signature = key.sign(&tbs).await?;
    let mut bits = vec![0];
    bits.extend_from_slice(&signature);
    let certificate = sequence(&[&tbs, &SHA256_WITH_RSA, &tlv(0x03, &bits)]);
    Ok(pem::encode("CERTIFICATE", &certificate))
}

/// DER `SubjectPublicKeyInfo` of an RSA key given as DER `RSAPublicKey` (PKCS#1).
pub fn rsa_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0];
    bits.extend_from_slice(rsa_public_key);
    sequence(&[&RSA_ENCRYPTION, &tlv(0x03, &bits)])
}

/// The `TBSCertificate` of RFC 5280 §4.1, version 3, without extensions.
fn to_be_signed(request: &CertificateRequest<'_>) -> Vec<u8> {
    let version = tlv(0xa0, &tlv(0x02, &[2]));
    // A positive INTEGER: the first bit clear.
    let mut serial = request.serial;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let name = sequence(&[&tlv(
        0x31,
        &sequence(&[&COMMON_NAME, &tlv(0x0c, request.common_name.as_bytes())]),
    )]);
    let validity = sequence(&[&time(request.not_before), &time(request.not_after)]);
    sequence(&[
        &version,
        &tlv(0x02, &serial),
        &SHA256_WITH_RSA,
        &name,
        &validity,
        &name,
        request.public_key_info,
    ])
}

/// UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5).
fn time(at: DateTime<Utc>) -> Vec<u8> {
    if at.year() < 2050 {
        tlv(0x17, at.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(0x18, at.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
    }
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// One DER element: tag, definite length, content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use secrecy::SecretString;

    use super::*;
    use crate::identity::PemKey;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../../m365-sim/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).expect(&path)
    }

    /// The certificate is DER an X.509 reader takes (jsonwebtoken finds its key), and its
    /// signature over the TBS part verifies with the key it names.
    #[tokio::test]
    async fn a_self_signed_certificate_verifies_with_its_own_key() {
        let key = PemKey::parse(&SecretString::from(fixture("app-key.pem"))).expect("key");
        let info = rsa_public_key_info(&key.public_key_der());
        let now = Utc::now();
        let request = CertificateRequest {
            common_name: "m365-inline test",
            public_key_info: &info,
            not_before: now,
            not_after: now + chrono::Duration::days(365 * 30),
            serial: [0xff; 16],
        };
        let pem_text = self_signed(&request, &key).await.expect("certificate");
        assert!(
            pem_text.starts_with("-----BEGIN CERTIFICATE-----\n"),
            "{pem_text}"
        );
        jsonwebtoken::DecodingKey::from_rsa_pem(pem_text.as_bytes()).expect("an X.509 reader takes it");
        let der = pem::block(&pem_text, "CERTIFICATE").expect("PEM");
        let tbs = to_be_signed(&request);
        assert_eq!(&der[4..4 + tbs.len()], tbs.as_slice(), "the TBS part leads");
        let signature = &der[der.len() - 256..];
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der())
            .verify(&tbs, signature)
            .expect("the signature verifies");
        assert!(
            der.windows(info.len()).any(|w| w == info.as_slice()),
            "the certificate carries the key"
        );
    }

    #[test]
    fn lengths_and_times_are_der() {
        assert_eq!(tlv(0x04, &[0; 3])[..2], [0x04, 3]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        let at = |y| {
            DateTime::parse_from_rfc3339(&format!("{y}-01-02T03:04:05Z"))
                .expect("time")
                .to_utc()
        };
        assert_eq!(time(at(2049)), [&[0x17, 13][..], b"490102030405Z"].concat());
        assert_eq!(time(at(2050)), [&[0x18, 15][..], b"20500102030405Z"].concat());
    }
}
