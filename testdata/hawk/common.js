'use strict';

// Shared plumbing of the interop scripts: read a JSON array of cases on
// stdin, run each through an async function, print a JSON array of results
// (one per case, in order) on stdout. A case that throws yields
// { ok: false, error: message, status, wwwAuthenticate }.

exports.run = async function (fn) {

    const chunks = [];
    for await (const chunk of process.stdin) {
        chunks.push(chunk);
    }

    const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const results = [];
    for (const c of cases) {
        try {
            results.push(Object.assign({ ok: true }, await fn(c)));
        }
        catch (err) {
            const out = (err.output || {});
            results.push({
                ok: false,
                error: err.message,
                status: out.statusCode,
                wwwAuthenticate: (out.headers || {})['WWW-Authenticate']
            });
        }
    }

    process.stdout.write(JSON.stringify(results, null, 1) + '\n');
};


// credentials maps the JSON form { id, key, algorithm } to Hawk's.

exports.credentials = function (c) {

    return c ? { id: c.id, key: c.key, algorithm: c.algorithm } : null;
};
