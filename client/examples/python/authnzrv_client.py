"""Minimal authnzrv frontend: session-new, then session-exists (needs `cryptography`)."""
import base64, json, os, secrets, sys, urllib.request
from datetime import datetime, timedelta, timezone
from cryptography.fernet import Fernet

URL = os.environ.get("AUTHNZRV_URL", "http://127.0.0.1:13431")
FERNET = Fernet(os.environ["AUTHNZRV_SECRET"])  # the shared key (.authnzerver-secret-key)

def call(request, body):
    reqid = secrets.token_urlsafe(8)
    envelope = {"request": request, "body": body, "reqid": reqid, "client_ipaddr": "127.0.0.1"}
    wire = base64.b64encode(FERNET.encrypt(json.dumps(envelope).encode()))  # Fernet token, base64 once more
    with urllib.request.urlopen(urllib.request.Request(URL + "/", data=wire), timeout=5) as resp:
        reply = json.loads(FERNET.decrypt(base64.b64decode(resp.read())))
    if reply["reqid"] != reqid:
        sys.exit("reply does not echo our reqid")
    return reply

expires = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
new = call("session-new", {"ip_address": "203.0.113.7", "user_agent": "example/1.0",
                           "user_id": None, "expires": expires, "extra_info_json": None})
info = call("session-exists", {"session_token": new["response"]["session_token"]})
print("session-exists:", info["success"], "user_id:", info["response"]["session_info"]["user_id"])
