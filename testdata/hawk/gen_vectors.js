'use strict';

// Generates vectors.json with @hapi/hawk (deterministic: fixed timestamps
// and nonces). Run from this directory after `npm ci`:
//
//     node gen_vectors.js > vectors.json
//
// The wire/hawk tests run the table without node, and, with
// AUTHNZRV_TEST_NODE set, check that this script still prints exactly the
// committed file.

const Hawk = require('@hapi/hawk');


const creds = {
    a: { id: 'dh37fgj492je', key: 'werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn', algorithm: 'sha256' },
    b: { id: '123456', key: 'werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn', algorithm: 'sha1' },
    c: { id: 'bergson-peer-1', key: 'a longer key, with spaces: and symbols!', algorithm: 'sha256' }
};

const ts = 1353832234;

const requests = [
    { name: 'readme GET', creds: 'a', method: 'GET', url: 'http://example.com:8000/resource/1?b=1&a=2', options: { nonce: 'j4h3g2', ext: 'some-app-ext-data' } },
    { name: 'readme POST', creds: 'a', method: 'POST', url: 'http://example.com:8000/resource/1?b=1&a=2', options: { nonce: 'j4h3g2', ext: 'some-app-ext-data', payload: 'Thank you for flying Hawk', contentType: 'text/plain' } },
    { name: 'sha1, default http port, no ext', creds: 'b', method: 'GET', url: 'http://example.com/resource/4?filter=a', options: { nonce: 'eb5S_L' } },
    { name: 'https default port, upper-case host, escaped path, json with charset', creds: 'a', method: 'PUT', url: 'https://Example.COM/a/b%20c?x=%2F&y=', options: { nonce: 'n0nce', payload: '{"a":1}', contentType: 'application/json; charset=utf-8' } },
    { name: 'bergson form parameters', creds: 'c', method: 'POST', url: 'http://auth.example.org:8080/v1/api/user/create', options: { nonce: 'Xy-_12', payload: 'password=s3cret&username=alice', contentType: 'application/x-www-form-urlencoded' } },
    { name: 'empty payload without content type', creds: 'a', method: 'POST', url: 'http://example.com:8000/empty', options: { nonce: 'e1', payload: '', contentType: '' } },
    { name: 'trailing question mark kept', creds: 'a', method: 'GET', url: 'http://example.com:8000/q?', options: { nonce: 'q1' } },
    { name: 'app and dlg', creds: 'a', method: 'GET', url: 'http://example.com:8000/oz', options: { nonce: 'oz1', ext: 'x', app: 'app-1', dlg: 'dlg-9' } },
    { name: 'app without dlg, sha1', creds: 'b', method: 'DELETE', url: 'http://example.com:8000/oz/1', options: { nonce: 'oz2', app: 'app-1' } },
    { name: 'ext with every allowed punctuation', creds: 'a', method: 'GET', url: 'http://example.com:8000/p', options: { nonce: 'p1', ext: '!#$%&\'()*+,-./:;<=>?@[]^_`{|}~ and spaces' } },
    { name: 'lower-case method, content type with case and parameters', creds: 'a', method: 'post', url: 'http://example.com:8000/m', options: { nonce: 'm1', payload: 'x', contentType: ' TEXT/Plain ; charset=x' } },
    { name: 'utf-8 payload', creds: 'c', method: 'POST', url: 'http://example.com:8000/u', options: { nonce: 'u1', payload: 'h\u00e9llo \u2603', contentType: 'text/plain' } },
    { name: 'no path', creds: 'a', method: 'GET', url: 'http://example.com', options: { nonce: 'r1' } },
    { name: 'no path with query', creds: 'a', method: 'GET', url: 'http://example.com?a=1', options: { nonce: 'r2' } }
];

const responses = [
    { name: 'readme GET answered with text', request: 'readme GET', options: { payload: 'Hello world!', contentType: 'text/plain', ext: 'response-specific' } },
    { name: 'sha1 answered with json, no ext', request: 'sha1, default http port, no ext', options: { payload: '{"ok":true}', contentType: 'application/json' } },
    { name: 'app and dlg answered with empty body', request: 'app and dlg', options: { payload: '', contentType: '', ext: 'r' } },
    { name: 'no payload hash', request: 'bergson form parameters', options: { ext: 'no-body-hash' } },
    { name: 'bergson json answer', request: 'bergson form parameters', options: { payload: '{"status": true, "message": "ok"}', contentType: 'application/json' } }
];

const timestamps = [
    { creds: 'a', ts: 1353832234 },
    { creds: 'b', ts: 1362346425 },
    { creds: 'c', ts: 0 }
];

// Authorization headers for the parser. stricter: the Go parser refuses a
// header @hapi/hawk accepts, on purpose (the reason).
const parse = [
    { header: 'Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="some-app-ext-data", mac="6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="' },
    { header: 'hawk id="a", ts="1", nonce="n", mac="m"' },
    { header: 'HAWK id="a",ts="1",nonce="n",mac="m"' },
    { header: 'Hawk id="a" , ts="1" ,nonce="n",   mac="m"  ' },
    { header: 'Hawk id="a", ts="1", nonce="n", mac="m",' },
    { header: 'Hawk id="a", ts="1", nonce="n", mac="m", app="x", dlg="y", hash="h", ext="e"' },
    { header: 'Hawk   id="a"' },
    { header: 'Hawk\tid="a"' },
    { header: 'Hawk id="a",\tts="1"' },
    { header: 'Hawk id="!#$%&\'()*+,-./:;<=>?@[]^_`{|}~ az AZ 09"' },
    { header: 'Hawk id="a", id="b"' },
    { header: 'Hawk id="a", x="b"' },
    { header: 'Hawk id="a", ID="b"' },
    { header: 'Hawk id=""' },
    { header: 'Hawk id="a\\"b"' },
    { header: 'Hawk id="a\\b"' },
    { header: 'Hawk id="a"b"' },
    { header: 'Hawk id="\u00e9"' },
    { header: 'Hawk id="a\u0001"' },
    { header: 'Hawk id="a" ts="1"' },
    { header: 'Hawk id="a",, ts="1"' },
    { header: 'Hawk ,id="a"' },
    { header: 'Hawk id = "a"' },
    { header: 'Hawk id=a' },
    { header: 'Hawk id="a' },
    { header: 'Hawk' },
    { header: 'Hawk ' },
    { header: 'Hawkid="a"' },
    { header: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' },
    { header: 'Bearer' },
    { header: 'Ha-wk id="a"' },
    { header: ' Hawk id="a"' },
    { header: 'Hawk id="a"\n' },
    { header: 'Hawk\nid="a"', stricter: 'a line break is not white space between header tokens' },
    { header: 'Hawk id="a",\u00a0ts="1"', stricter: 'only space and tab are white space' },
    { header: 'Hawk\u00a0id="a"', stricter: 'only space and tab are white space' },
    { header: 'Hawk id="a", ts="1"\u3000', stricter: 'only space and tab are white space' },
    { header: 'Hawk id="' + 'x'.repeat(4086) + '"' },
    { header: 'Hawk id="' + 'x'.repeat(4087) + '"' }
];


const nodeArtifacts = {};
const out = { generator: 'gen_vectors.js with @hapi/hawk ' + require('@hapi/hawk/package.json').version, credentials: creds, requests: [], responses: [], timestamps: [], parse: [] };

for (const r of requests) {
    const options = Object.assign({ timestamp: ts, credentials: creds[r.creds] }, r.options);
    const { header, artifacts } = Hawk.client.header(r.url, r.method, options);
    nodeArtifacts[r.name] = artifacts;
    out.requests.push({
        name: r.name,
        creds: r.creds,
        method: r.method,
        url: r.url,
        ts,
        nonce: r.options.nonce,
        ext: r.options.ext,
        app: r.options.app,
        dlg: r.options.dlg,
        payload: r.options.payload,
        content_type: r.options.contentType,
        resource: artifacts.resource,
        host: artifacts.host,
        port: Number(artifacts.port),
        hash: artifacts.hash,
        normalized: Hawk.crypto.generateNormalizedString('header', artifacts),
        header
    });
}

for (const r of responses) {
    const request = nodeArtifacts[r.request];
    const c = creds[requests.find((q) => q.name === r.request).creds];
    out.responses.push({
        name: r.name,
        request: r.request,
        payload: r.options.payload,
        content_type: r.options.contentType,
        ext: r.options.ext,
        header: Hawk.server.header(c, request, r.options)
    });
}

for (const t of timestamps) {
    out.timestamps.push({ creds: t.creds, ts: t.ts, tsm: Hawk.crypto.calculateTsMac(t.ts, creds[t.creds]) });
}

for (const p of parse) {
    const v = { header: p.header, stricter: p.stricter };
    try {
        v.attributes = Hawk.utils.parseAuthorizationHeader(p.header);
    }
    catch (err) {
        v.error = err.message;
        v.missing = Boolean(err.isMissing);
    }

    out.parse.push(v);
}

process.stdout.write(JSON.stringify(out, null, 1) + '\n');
