// Minimal authnzrv frontend: session-new, then session-exists. Node >= 18, no dependencies:
// Fernet is AES-128-CBC + HMAC-SHA256 with node:crypto.
const crypto = require("node:crypto");
const url = process.env.AUTHNZRV_URL || "http://127.0.0.1:13431";
const key = Buffer.from(process.env.AUTHNZRV_SECRET || "", "base64url"); // the shared key (.authnzerver-secret-key)
if (key.length !== 32) throw new Error("AUTHNZRV_SECRET must be a Fernet key");
const signKey = key.subarray(0, 16), encKey = key.subarray(16);

function seal(obj) {
  const iv = crypto.randomBytes(16), c = crypto.createCipheriv("aes-128-cbc", encKey, iv);
  const ts = Buffer.alloc(8); ts.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)));
  const body = Buffer.concat([Buffer.from([0x80]), ts, iv, c.update(JSON.stringify(obj)), c.final()]);
  const token = Buffer.concat([body, crypto.createHmac("sha256", signKey).update(body).digest()]);
  const fernet = token.toString("base64").replace(/\+/g, "-").replace(/\//g, "_"); // URL-safe, padded
  return Buffer.from(fernet).toString("base64"); // base64 once more
}

function open(wire) {
  const token = Buffer.from(Buffer.from(wire, "base64").toString(), "base64url");
  if (token.length < 57 || token[0] !== 0x80) throw new Error("not a Fernet token");
  const body = token.subarray(0, -32), mac = crypto.createHmac("sha256", signKey).update(body).digest();
  if (!crypto.timingSafeEqual(mac, token.subarray(-32))) throw new Error("bad signature");
  const d = crypto.createDecipheriv("aes-128-cbc", encKey, body.subarray(9, 25));
  return JSON.parse(Buffer.concat([d.update(body.subarray(25)), d.final()]).toString());
}

async function call(request, body) {
  const reqid = crypto.randomBytes(8).toString("base64url");
  const res = await fetch(url + "/", { method: "POST", body: seal({ request, body, reqid, client_ipaddr: "127.0.0.1" }) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reply = open(await res.text());
  if (reply.reqid !== reqid) throw new Error("reply does not echo our reqid");
  return reply;
}

(async () => {
  const expires = new Date(Date.now() + 3600e3).toISOString().replace("Z", "000"); // YYYY-MM-DDTHH:MM:SS.ffffff
  const made = await call("session-new", { ip_address: "203.0.113.7", user_agent: "example/1.0", user_id: null, expires, extra_info_json: null });
  const info = await call("session-exists", { session_token: made.response.session_token });
  console.log("session-exists:", info.success, "user_id:", info.response.session_info.user_id);
})().catch((e) => { console.error(e.message); process.exit(1); });
