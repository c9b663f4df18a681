'use strict';

// (c) Run Hawk.server.authenticate on a request.
// Case: { request: {method, url, host, port, authorization, contentType},
//         credentials: {id, key, algorithm} (the only known id; null: none),
//         now: server time in seconds, payload: string (checked when present),
//         skewSec, seenNonces: [nonce, ...] (refused by the nonce function) }
// Result: { id, artifacts } or { ok: false, error, status, wwwAuthenticate }

const Hawk = require('@hapi/hawk');
const Common = require('./common');

Common.run(async (c) => {

    const credentials = Common.credentials(c.credentials);
    const seen = new Set(c.seenNonces || []);
    const options = {
        localtimeOffsetMsec: c.now * 1000 - Date.now(),
        timestampSkewSec: c.skewSec,
        nonceFunc: (key, nonce, ts) => {

            if (seen.has(nonce)) {
                throw new Error('replay');
            }

            seen.add(nonce);
        }
    };

    if (c.payload !== undefined && c.payload !== null) {
        options.payload = c.payload;
    }

    const lookup = (id) => (credentials && id === credentials.id ? credentials : null);
    const { artifacts } = await Hawk.server.authenticate(c.request, lookup, options);
    return { id: artifacts.id, artifacts };
});
