'use strict';

// (a) Sign requests with Hawk.client.header.
// Case: { credentials: {id, key, algorithm}, method, url,
//         options: {timestamp, nonce, payload, contentType, ext, app, dlg} }
// Result: { header, artifacts }

const Hawk = require('@hapi/hawk');
const Common = require('./common');

Common.run((c) => {

    const options = Object.assign({}, c.options, { credentials: Common.credentials(c.credentials) });
    const { header, artifacts } = Hawk.client.header(c.url, c.method, options);
    return { header, artifacts };
});
