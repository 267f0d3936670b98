use cairn_sign::{Algorithm, KeyError, PrivateKey, PublicKey};

#[test]
fn pem_round_trip_and_key_ids() {
    for alg in Algorithm::ALL {
        let k = PrivateKey::generate(alg).unwrap();
        let pem = k.to_pkcs8_pem().unwrap();
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.algorithm(), alg);
        assert_eq!(again.key_id(), k.key_id());
        let public = PublicKey::from_pem(&k.public_key().to_pem()).unwrap();
        assert_eq!(public.algorithm(), alg);
        // key id is the SHA-256 of the SPKI DER
        assert_eq!(
            public.key_id(),
            cairn_sign::digest::sha256_hex(public.spki_der())
        );
        let sig = again.sign(b"m").unwrap();
        public.verify(b"m", &sig).unwrap();
        assert!(matches!(
            public.verify(b"n", &sig),
            Err(KeyError::BadSignature)
        ));
    }
}

#[test]
fn write_pair_is_0600_and_refuses_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("builder");
    let k = PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
    let (kp, pp) = k.write_pair(&base).unwrap();
    assert_eq!(
        std::fs::metadata(&kp).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&pp)
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    let before = std::fs::read(&kp).unwrap();
    let other = PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
    assert!(matches!(
        other.write_pair(&base),
        Err(KeyError::Exists { .. })
    ));
    assert_eq!(
        std::fs::read(&kp).unwrap(),
        before,
        "existing key untouched"
    );
}

#[test]
fn reads_openssl_keys() {
    // Keys produced by OpenSSL, the most common other source of PEM keys.
    let dir = tempfile::tempdir().unwrap();
    for (alg, args) in [
        (Algorithm::Ed25519, vec!["-algorithm", "ED25519"]),
        (
            Algorithm::EcdsaP256,
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        (
            Algorithm::EcdsaP384,
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
    ] {
        let key = dir.path().join(format!("{alg}.pem"));
        let st = std::process::Command::new("openssl")
            .arg("genpkey")
            .args(&args)
            .arg("-out")
            .arg(&key)
            .status()
            .expect("openssl is installed");
        assert!(st.success());
        let k = PrivateKey::from_pem_file(&key).unwrap();
        assert_eq!(k.algorithm(), alg);
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .unwrap();
        let public = PublicKey::from_pem(std::str::from_utf8(&out.stdout).unwrap()).unwrap();
        assert_eq!(public.key_id(), k.key_id());
    }
}

#[test]
fn rejects_bad_key_files() {
    assert!(matches!(
        PublicKey::from_pem("hello"),
        Err(KeyError::NotPem { .. })
    ));
    let k = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let private_pem = k.to_pkcs8_pem().unwrap();
    assert!(matches!(
        PublicKey::from_pem(&private_pem),
        Err(KeyError::WrongPemLabel {
            expected: "PUBLIC KEY",
            ..
        })
    ));
    assert!(matches!(
        PrivateKey::from_pem(&k.public_key().to_pem()),
        Err(KeyError::WrongPemLabel {
            expected: "PRIVATE KEY",
            ..
        })
    ));
    let garbage = pem::encode(&pem::Pem::new(
        "PUBLIC KEY",
        vec![0x30, 0x03, 0x01, 0x01, 0x00],
    ));
    assert!(matches!(
        PublicKey::from_pem(&garbage),
        Err(KeyError::Malformed { .. })
    ));
    let garbage = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1, 2, 3]));
    assert!(matches!(
        PrivateKey::from_pem(&garbage),
        Err(KeyError::UnsupportedAlgorithm { .. })
    ));
    assert!(matches!(
        "rsa".parse::<Algorithm>(),
        Err(KeyError::UnknownAlgorithmName(_))
    ));
}
