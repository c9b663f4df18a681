'use strict';

// (d) A Bergson Authenticator client on @hapi/hawk: sign a request with
// Hawk.client.header, send it over HTTP, and check the answer's
// Server-Authorization with Hawk.client.authenticate.
// Case: { credentials: {id, key, algorithm}, method, url (with any query),
//         contentType, body (string sent), payload (the canonical string
//         signed), sendTimes (default 1), timestampOffsetSec }
// Result: { responses: [{ status, body, serverAuthorization,
//                         verified (bool), verifyError }] }

const Hawk = require('@hapi/hawk');
const Common = require('./common');

Common.run(async (c) => {

    const credentials = Common.credentials(c.credentials);
    const { header, artifacts } = Hawk.client.header(c.url, c.method, {
        credentials,
        payload: c.payload,
        contentType: c.contentType || '',
        localtimeOffsetMsec: (c.timestampOffsetSec || 0) * 1000
    });

    const responses = [];
    for (let i = 0; i < (c.sendTimes || 1); ++i) {
        const headers = { authorization: header };
        if (c.contentType) {
            headers['content-type'] = c.contentType;
        }

        const res = await fetch(c.url, { method: c.method, headers, body: c.body === undefined ? undefined : c.body });
        const body = await res.text();
        const out = { status: res.status, body, serverAuthorization: res.headers.get('server-authorization') || '' };
        try {
            Hawk.client.authenticate({ headers: { 'server-authorization': out.serverAuthorization, 'content-type': res.headers.get('content-type') } },
                credentials, artifacts, { payload: body, required: true });
            out.verified = true;
        }
        catch (err) {
            out.verified = false;
            out.verifyError = err.message;
        }

        responses.push(out);
    }

    return { responses };
});
