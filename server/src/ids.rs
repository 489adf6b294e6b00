//! Random identifiers and secrets, from the operating system's CSPRNG.

use rand::rngs::OsRng;
use rand::RngCore;

/// `N` bytes from the OS; secrets never come from a seeded user-space generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// An opaque id such as `usr_3f9a…`: a type prefix for humans reading logs, 128 random bits so
/// ids cannot be enumerated.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex(&random_bytes::<16>()))
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_encodes_every_nibble() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn ids_carry_the_prefix_and_128_random_bits() {
        let a = new_id("usr");
        let b = new_id("usr");
        assert!(a.starts_with("usr_"));
        assert_eq!(a.len(), 4 + 32);
        assert_ne!(a, b);
    }
}
