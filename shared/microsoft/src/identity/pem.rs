//! PEM blocks: the base64 DER between `-----BEGIN {label}-----` and `-----END {label}-----`.

use base64::{Engine as _, engine::general_purpose::STANDARD};

/// The DER bytes of the first `label` block of `text`, if there is one and it decodes.
pub(super) fn block(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text.split(&begin).nth(1)?.split(&end).next()?;
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(base64).ok()
}

/// `der` as a PEM `label` block, 64 characters a line.
pub(super) fn encode(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}
