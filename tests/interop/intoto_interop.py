"""Independent DSSE/in-toto implementation for cairn's interop tests.

Uses the Python in-toto package (in_toto.models.metadata.Envelope, a securesystemslib DSSE
envelope) and pyca/cryptography keys, never cairn code.

  sign   ALG KEYOUT ARTIFACT ENVELOPE_OUT   generate a key (writes KEYOUT.pub), sign a statement
  verify BUNDLE PUBKEY ARTIFACT              verify the first envelope of a cairn bundle
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from in_toto.models.metadata import Envelope
from securesystemslib.dsse import Signature
from securesystemslib.signer import CryptoSigner, SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def statement(artifact):
    digest = hashlib.sha256(open(artifact, "rb").read()).hexdigest()
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": artifact.rsplit("/", 1)[-1], "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://example.com/python-in-toto/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://in-toto.io/python"}},
        },
    }


def generate(alg):
    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ml-dsa-65":
        return mldsa.MLDSA65PrivateKey.generate()
    raise SystemExit(f"unknown algorithm {alg}")


def sign(alg, keyout, artifact, out):
    priv = generate(alg)
    pub_pem = priv.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    open(keyout + ".pub", "wb").write(pub_pem)
    signer = CryptoSigner(priv)
    payload = json.dumps(statement(artifact)).encode()
    env = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    env.sign(signer)
    open(out, "w").write(json.dumps(env.to_dict()))
    print(f"python in-toto signed with {alg}, keyid {signer.public_key.keyid}")


def verify(bundle_path, pub_path, artifact):
    bundle = json.load(open(bundle_path))
    raw = bundle["attestations"][0]["dsseEnvelope"]
    env = Envelope.from_dict(raw)
    pub = serialization.load_pem_public_key(open(pub_path, "rb").read())
    # securesystemslib only tries keys whose keyid equals the signature's hint; cairn's
    # hint is the SHA-256 of the SPKI DER, so name the key by it.
    spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    keyid = hashlib.sha256(spki).hexdigest()
    key = SSlibKey.from_crypto(pub, keyid=keyid)
    env.verify([key], 1)
    st = json.loads(env.payload)
    assert st["_type"] == "https://in-toto.io/Statement/v1", st["_type"]
    want = hashlib.sha256(open(artifact, "rb").read()).hexdigest()
    assert any(s["digest"].get("sha256") == want for s in st["subject"]), "subject mismatch"
    print(f"python in-toto verified cairn envelope signed by {keyid}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "sign":
        sign(*sys.argv[2:6])
    elif cmd == "verify":
        verify(*sys.argv[2:5])
    else:
        raise SystemExit(f"unknown command {cmd}")
