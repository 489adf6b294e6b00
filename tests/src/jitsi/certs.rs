//! A private CA and a leaf certificate for `127.0.0.1` / `localhost`, fresh per stand-in.

use std::net::{IpAddr, Ipv4Addr};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// What the TLS listener and the tests need from the generated PKI.
pub(crate) struct Pki {
    pub ca_pem: String,
    pub leaf_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub leaf_key: PrivateKeyDer<'static>,
    /// base64(SHA-256(leaf SubjectPublicKeyInfo DER)), Chromium's
    /// `--ignore-certificate-errors-spki-list` format.
    pub leaf_spki_sha256_base64: String,
}

pub(crate) fn generate() -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Consult Jitsi stand-in test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()])?;
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    let spki = leaf_key.subject_public_key_info();
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        leaf_pem: leaf_cert.pem(),
        chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        leaf_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        leaf_spki_sha256_base64: STANDARD.encode(Sha256::digest(&spki)),
    })
}
