#!/usr/bin/python3
"""Writes vectors.json: argon2 hashes made by argon2-cffi (the reference's
hasher), which identity/password must verify, plus raw low-level hashes with
fixed salts that Go must reproduce byte for byte.

Run with Debian's python3-argon2 (argon2-cffi 21.1.0):
    /usr/bin/python3 testdata/argon2/gen_vectors.py > testdata/argon2/vectors.json
"""
import base64
import json

import argon2
from argon2.low_level import Type, hash_secret_raw

PASSWORDS = ["aROwQin9L8nNtPTEMLXd", "correct horse battery staple", "pässwörd ✓ 鍵", "x" * 300]
PARAMS = [
    # argon2-cffi 21.1.0 defaults (what the reference writes today)
    dict(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16),
    # older argon2-cffi defaults: 16-byte hashes
    dict(time_cost=2, memory_cost=102400, parallelism=8, hash_len=16, salt_len=16),
    # cheap
    dict(time_cost=1, memory_cost=64, parallelism=1, hash_len=32, salt_len=16),
]

phc = []
for params in PARAMS:
    ph = argon2.PasswordHasher(**params)
    for pw in PASSWORDS[:2] if params["memory_cost"] > 1024 else PASSWORDS:
        phc.append({"password": pw, "hash": ph.hash(pw), "params": params})

raw = []
for i, pw in enumerate(PASSWORDS):
    salt = bytes(range(16 + i))
    for t in (Type.ID, Type.I):
        key = hash_secret_raw(pw.encode(), salt, time_cost=2, memory_cost=256, parallelism=2, hash_len=32, type=t)
        raw.append({"password": pw, "salt": base64.b64encode(salt).decode(), "type": "argon2id" if t == Type.ID else "argon2i",
                    "time": 2, "memory": 256, "threads": 2, "key": base64.b64encode(key).decode()})

print(json.dumps({"generator": "argon2-cffi " + argon2.__version__, "phc": phc, "raw": raw}, indent=1, ensure_ascii=False))
