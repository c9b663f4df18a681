#!/usr/bin/python3
"""Checks rfc6238.json with Python's hmac and writes seal.json to stdout.

seal.json: texts sealed the way identity/totp.Sealer seals (HKDF-SHA256 of
the server secret, no salt, info "authnzrv totp secret v1"; AES-256-GCM;
"v1." + unpadded base64url of nonce|ciphertext|tag) with fixed nonces, made
by the Python "cryptography" package (Debian python3-cryptography).
"""
import base64, hashlib, hmac, json, os, struct, sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

here = os.path.dirname(os.path.abspath(__file__))

rfc = json.load(open(os.path.join(here, "rfc6238.json")))
for v in rfc["vectors"]:
    key = rfc["seeds"][v["algorithm"]].encode()
    step = v["time"] // 30
    assert step == v["step"], v
    mac = hmac.new(key, struct.pack(">Q", step), getattr(hashlib, v["algorithm"].lower())).digest()
    off = mac[-1] & 15
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10**8
    assert "%08d" % code == v["code"], (v, code)


def seal(server_secret, nonce, plain, aad):
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"authnzrv totp secret v1").derive(server_secret.encode())
    ct = AESGCM(key).encrypt(nonce, plain, aad)
    return "v1." + base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")


secret = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="  # a Fernet key string
cases = [
    (bytes(range(12)), b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", b"42"),
    (bytes([255] * 12), b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", b"7"),
    (bytes(12), b"", b""),
]
out = {"server_secret": secret, "vectors": []}
for nonce, plain, aad in cases:
    out["vectors"].append({
        "aad": aad.decode(), "plain": plain.decode(),
        "sealed": seal(secret, nonce, plain, aad),
    })
json.dump(out, sys.stdout, indent=2)
sys.stdout.write("\n")
