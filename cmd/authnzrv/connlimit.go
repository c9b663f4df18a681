package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Connection limits (issue 13, finding 5). The server holds at most
// maxconns client connections. Idle keep-alive connections cannot use the
// limit up: when a new connection arrives at the limit, the connection idle
// the longest is closed for it (a keep-alive client reconnects, as after the
// idle timeout); failing that, the oldest connection that has not finished
// sending its first request's headers within newGrace is closed (slow-header
// clients cannot hold the slots either; ReadHeaderTimeout cuts them anyway).
// Only when every connection is serving a request does the newcomer wait,
// accepted but unread, until one closes or turns idle, while further clients
// wait in the kernel's listen backlog: at most maxconns+1 descriptors, and
// nothing is refused.

// serverLimits are the HTTP server's connection settings.
type serverLimits struct {
	// MaxConns is the most connections held open (--maxconns).
	MaxConns int
	// IdleTimeout closes a keep-alive connection idle that long
	// (--idletimeout).
	IdleTimeout time.Duration
	// ReadHeaderTimeout, ReadTimeout and WriteTimeout bound a request's
	// headers, its whole body and the reply.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout time.Duration
	// NewGrace is how long a new connection may go without sending a
	// complete request header before a newcomer at the limit may take its
	// place.
	NewGrace time.Duration
}

// defaultNewGrace: a real client sends its headers within milliseconds of
// connecting.
const defaultNewGrace = time.Second

// limitsOf returns the connection settings of a configuration: maxconns and
// idletimeout from it, the request timeouts fixed.
func limitsOf(maxConns, idleTimeoutSeconds int) serverLimits {
	return serverLimits{
		MaxConns:          maxConns,
		IdleTimeout:       time.Duration(idleTimeoutSeconds) * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		NewGrace:          defaultNewGrace,
	}
}

// newHTTPServer returns an http.Server for h with the limits' timeouts, and
// ln wrapped so that the server holds at most lim.MaxConns connections: serve
// the returned listener.
func newHTTPServer(ln net.Listener, h http.Handler, lim serverLimits) (*http.Server, *connLimit) {
	cl := newConnLimit(ln, lim.MaxConns, lim.NewGrace)
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		ConnState:         cl.connState,
	}
	return hs, cl
}

// connLimit is a listener that holds at most max connections open; its
// connState must be the server's http.Server.ConnState.
type connLimit struct {
	net.Listener
	max   int
	grace time.Duration

	mu    sync.Mutex
	conns map[*limitedConn]struct{}
	// changed is closed (and replaced) when a connection closes or turns
	// idle: a waiting Accept looks again.
	changed chan struct{}
	done    chan struct{}
	closed  sync.Once
	// evicted counts connections closed to make room.
	evicted atomic.Int64
}

func newConnLimit(ln net.Listener, max int, grace time.Duration) *connLimit {
	if max < 1 {
		max = 1
	}
	return &connLimit{Listener: ln, max: max, grace: grace, conns: map[*limitedConn]struct{}{},
		changed: make(chan struct{}), done: make(chan struct{})}
}

// limitedConn is a connection counted by its connLimit until it closes.
type limitedConn struct {
	net.Conn
	l *connLimit
	// state and since are guarded by l.mu.
	state    http.ConnState
	since    time.Time
	released sync.Once
}

// Close closes the connection and gives its slot back.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.released.Do(func() { c.l.release(c) })
	return err
}

// Accept waits for a connection and makes room for it.
func (l *connLimit) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitedConn{Conn: c, l: l, state: http.StateNew, since: time.Now()}
	l.mu.Lock()
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	if err := l.makeRoom(lc); err != nil {
		lc.Close()
		return nil, err
	}
	return lc, nil
}

// Close stops accepting; a waiting Accept returns net.ErrClosed.
func (l *connLimit) Close() error {
	l.closed.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Open is the number of connections open.
func (l *connLimit) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Evicted is the number of idle or slow connections closed to make room.
func (l *connLimit) Evicted() int64 { return l.evicted.Load() }

// makeRoom closes connections for the newcomer while there are more than
// max, the idle ones first, or waits for one to close or turn idle.
func (l *connLimit) makeRoom(newcomer *limitedConn) error {
	for {
		l.mu.Lock()
		if len(l.conns) <= l.max {
			l.mu.Unlock()
			return nil
		}
		victim, wait := l.victimLocked(newcomer, time.Now())
		changed := l.changed
		l.mu.Unlock()
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
			continue
		}
		if err := l.waitChange(changed, wait); err != nil {
			return err
		}
	}
}

// waitChange waits until changed is closed or, when wait > 0, that long.
func (l *connLimit) waitChange(changed <-chan struct{}, wait time.Duration) error {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-changed:
	case <-timeout:
	case <-l.done:
		return net.ErrClosed
	}
	return nil
}

// victimLocked chooses the connection to close for a newcomer: the one idle
// the longest, else the oldest still without a complete first request
// header after the grace period. With none, wait is how long until such a
// connection's grace ends (0: none is new).
func (l *connLimit) victimLocked(newcomer *limitedConn, now time.Time) (victim *limitedConn, wait time.Duration) {
	var idle, slow *limitedConn
	for c := range l.conns {
		switch {
		case c == newcomer:
		case c.state == http.StateIdle:
			if idle == nil || c.since.Before(idle.since) {
				idle = c
			}
		case c.state == http.StateNew:
			if slow == nil || c.since.Before(slow.since) {
				slow = c
			}
		}
	}
	switch {
	case idle != nil:
		return idle, 0
	case slow == nil:
		return nil, 0
	case now.Sub(slow.since) >= l.grace:
		return slow, 0
	}
	return nil, l.grace - now.Sub(slow.since)
}

// connState records a connection's state (http.Server.ConnState).
func (l *connLimit) connState(c net.Conn, s http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	switch s {
	case http.StateClosed:
		lc.released.Do(func() { l.release(lc) })
		return
	case http.StateHijacked:
		s = http.StateActive // the handler owns it; it counts until closed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, open := l.conns[lc]; !open {
		return
	}
	lc.state, lc.since = s, time.Now()
	if s == http.StateIdle {
		l.signalLocked()
	}
}

func (l *connLimit) release(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	l.signalLocked()
}

func (l *connLimit) signalLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}
