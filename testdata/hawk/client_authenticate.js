'use strict';

// (b) Run Hawk.client.authenticate on a response.
// Case: { credentials: {id, key, algorithm},
//         artifacts: the request's {method, resource, host, port, ts, nonce, hash, ext, app, dlg},
//         headers: {'server-authorization', 'www-authenticate', 'content-type'},
//         payload: string (checked when present), required: bool }
// Result: { headers } (the parsed attributes) or { ok: false, error }

const Hawk = require('@hapi/hawk');
const Common = require('./common');

Common.run((c) => {

    const res = { headers: c.headers || {} };
    const options = { required: Boolean(c.required) };
    if (c.payload !== undefined && c.payload !== null) {
        options.payload = c.payload;
    }

    const { headers } = Hawk.client.authenticate(res, Common.credentials(c.credentials), c.artifacts, options);
    return { headers };
});
