// Package api serves the authnzerver wire protocol over Echo: the request
// and response envelopes, argument validation, the request table and the
// handlers that compose identity and engine operations into the reference's
// request types. It touches no SQL (identity does) and decides no access
// itself (engine does).
package api
