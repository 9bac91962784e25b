//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The header value for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret, body)))
}

fn mac(secret: &[u8], body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut m = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Whether `header` is the signature of `body` under `secret`, compared in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let expected = mac(secret, body);
    !expected.is_empty() && bool::from(expected.ct_eq(&given))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector ("Validating webhook deliveries").
    #[test]
    fn github_test_vector() {
        let secret = b"It's a Secret to Everybody";
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, b"Hello, World!"), expected);
        assert!(verify(secret, b"Hello, World!", expected));
        assert!(!verify(secret, b"Hello, World?", expected));
        assert!(!verify(b"other", b"Hello, World!", expected));
        assert!(!verify(
            secret,
            b"Hello, World!",
            "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"
        ));
        assert!(!verify(secret, b"Hello, World!", "sha256=zz"));
        assert!(!verify(secret, b"Hello, World!", ""));
    }
}
