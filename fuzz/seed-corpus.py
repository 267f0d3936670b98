#!/usr/bin/env python3
"""Fills fuzz/corpus/<target>/ with seeds taken from ../shared/corpus (or $CAIRN_CORPUS):
DSSE vectors, slsa-github-generator and GitHub attestation envelopes (.intoto.jsonl),
Sigstore bundles, the statements inside them, and cairn bundles built from them.

Usage: python3 fuzz/seed-corpus.py   (from the repository root or anywhere)"""
import base64, hashlib, json, os, pathlib, sys

here = pathlib.Path(__file__).resolve().parent
src = pathlib.Path(os.environ.get("CAIRN_CORPUS", here.parent.parent / "shared" / "corpus"))
if not src.is_dir():
    sys.exit(f"corpus not found at {src}")
out = {t: here / "corpus" / t for t in ("envelope", "statement", "bundle", "provenance")}
for d in out.values():
    d.mkdir(parents=True, exist_ok=True)

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    (out[target] / hashlib.sha1(data).hexdigest()).write_bytes(data)

def b64(s):
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4))

envelopes = []
for v in json.loads((src / "dsse" / "vectors.json").read_text())["vectors"]:
    if isinstance(v.get("envelope"), dict):
        envelopes.append(v["envelope"])
for p in sorted(src.rglob("*.intoto.jsonl")):
    put("bundle", p.read_bytes())
    for line in p.read_text().splitlines():
        if line.strip():
            envelopes.append(json.loads(line))
for p in sorted(src.rglob("*.sigstore.json")):
    put("bundle", p.read_bytes())
    try:
        doc = json.loads(p.read_text())
    except ValueError:
        continue
    if isinstance(doc, dict) and isinstance(doc.get("dsseEnvelope"), dict):
        envelopes.append(doc["dsseEnvelope"])

for env in envelopes:
    text = json.dumps(env, separators=(",", ":"))
    put("envelope", text)
    put("bundle", text)
    try:
        payload = b64(env["payload"])
        st = json.loads(payload)
    except Exception:
        continue
    put("statement", payload)
    put("provenance", payload)
    if isinstance(st, dict) and isinstance(st.get("predicate"), dict):
        put("provenance", json.dumps(st["predicate"]))

good = [e for e in envelopes if all(isinstance(s, dict) for s in e.get("signatures", []))]
cairn = {"mediaType": "application/vnd.cairn.bundle.v1+json",
         "attestations": [{"dsseEnvelope": e} for e in good[:2]]}
cairn["attestations"][0]["evidence"] = [{"kind": "tpm-quote", "quote": "AA=="}]
cairn["attestations"][0]["logReceipts"] = [{"kind": "cairn-log", "index": 3}]
put("bundle", json.dumps(cairn, indent=2) + "\n")
put("bundle", "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in good[:3]))
print({t: len(list(d.iterdir())) for t, d in out.items()})
