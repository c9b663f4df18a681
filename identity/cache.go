package identity

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// The identity read cache holds what the requests frontends send on every
// page view read: users by id, sessions and API keys by token digest. It
// is bounded in entries and bytes, filled on read, and every write of the
// Store that changes what it holds invalidates the entries concerned, here
// and — the messages travel through PostgreSQL's NOTIFY or Redis
// (invalidate.go) — on every other instance. No entry outlives the TTL, so
// a lost message (an instance that was disconnected, MariaDB without
// Redis) is stale for at most that long.
//
// Invalidation messages are short strings:
//
//	u:<id>       the user
//	us:<id>      every session of the user
//	uk:<id>      every API key of the user
//	s:<digest>   the session with this token digest
//	ks:<digest>  every session-bound key of that session
//	k:<digest>   the API key with this token digest
//	all          everything (after a gap in the message stream)

// CacheOptions configure a Cache.
type CacheOptions struct {
	// TTL is the longest an entry is served (0: no cache).
	TTL time.Duration
	// MaxEntries bounds the number of entries (0: 100,000).
	MaxEntries int
	// MaxBytes bounds the entries' approximate size (0: 64 MiB).
	MaxBytes int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Cache is the identity read cache. It is safe for concurrent use.
type Cache struct {
	ttl      time.Duration
	now      func() time.Time
	maxBytes int

	mu    sync.Mutex
	lru   *lru.Cache[string, *cacheEntry]
	bytes int
	// epoch counts invalidations: a read that overlapped one does not fill
	// the cache (it may have read the row before the write).
	epoch atomic.Uint64
}

// cacheEntry is one cached row.
type cacheEntry struct {
	at      time.Time
	size    int
	user    *User
	session *Session
	key     *APIKey
	nsKey   *NoSessionKey
}

// NewCache returns a cache, or nil when o.TTL is zero (caching off).
func NewCache(o CacheOptions) *Cache {
	if o.TTL <= 0 {
		return nil
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100_000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{ttl: o.TTL, now: o.Now, maxBytes: o.MaxBytes}
	// The eviction callback runs with c.mu held (every LRU call is made
	// under it).
	c.lru, _ = lru.NewWithEvict(o.MaxEntries, func(_ string, e *cacheEntry) { c.bytes -= e.size })
	return c
}

// Epoch returns the invalidation count, taken before a read that may fill.
func (c *Cache) Epoch() uint64 {
	if c == nil {
		return 0
	}
	return c.epoch.Load()
}

// get returns a live entry.
func (c *Cache) get(key string) (*cacheEntry, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	if !ok {
		return nil, false
	}
	if c.now().Sub(e.at) >= c.ttl {
		c.lru.Remove(key)
		return nil, false
	}
	return e, true
}

// put stores an entry read since epoch, unless an invalidation came in
// between.
func (c *Cache) put(key string, e *cacheEntry, epoch uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return
	}
	e.at = c.now()
	if old, ok := c.lru.Peek(key); ok {
		c.bytes -= old.size // Add replaces without calling the eviction callback
	}
	c.lru.Add(key, e)
	c.bytes += e.size
	for c.bytes > c.maxBytes && c.lru.Len() > 0 {
		c.lru.RemoveOldest()
	}
}

// Len returns the number of entries (tests, metrics).
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// userSize, sessionSize and keySize approximate an entry's memory.
func userSize(u *User) int {
	n := 400 + len(u.SystemID) + len(u.Password) + len(u.Email) + len(u.ExtraInfo) + len(u.UserRole)
	if u.FullName != nil {
		n += len(*u.FullName)
	}
	return n
}

func sessionSize(s *Session) int {
	return 300 + len(s.TokenHash) + len(s.IPAddress) + len(s.UserAgent) + len(s.ExtraInfoJSON)
}

const keySize = 400

func userKey(id int64) string { return "u:" + strconv.FormatInt(id, 10) }

// User returns a copy of a cached user.
func (c *Cache) User(id int64) (*User, bool) {
	e, ok := c.get(userKey(id))
	if !ok || e.user == nil {
		return nil, false
	}
	u := *e.user
	return &u, true
}

// putUser caches a user read since epoch.
func (c *Cache) putUser(u *User, epoch uint64) {
	cp := *u
	c.put(userKey(u.UserID), &cacheEntry{user: &cp, size: userSize(u)}, epoch)
}

// Session returns a copy of a cached session by token digest.
func (c *Cache) Session(digest string) (*Session, bool) {
	e, ok := c.get("s:" + digest)
	if !ok || e.session == nil {
		return nil, false
	}
	s := *e.session
	return &s, true
}

func (c *Cache) putSession(s *Session, epoch uint64) {
	cp := *s
	c.put("s:"+s.TokenHash, &cacheEntry{session: &cp, size: sessionSize(s)}, epoch)
}

// cachedKey returns a copy of a cached API key of type K.
func cachedKey[K APIKey | NoSessionKey](c *Cache, digest string) (*K, bool) {
	e, ok := c.get("k:" + digest)
	if !ok {
		return nil, false
	}
	var k any
	switch any((*K)(nil)).(type) {
	case *APIKey:
		if e.key == nil {
			return nil, false
		}
		cp := *e.key
		k = &cp
	case *NoSessionKey:
		if e.nsKey == nil {
			return nil, false
		}
		cp := *e.nsKey
		k = &cp
	}
	return k.(*K), true
}

func putKey[K APIKey | NoSessionKey](c *Cache, k *K, epoch uint64) {
	e := &cacheEntry{size: keySize}
	var digest string
	switch x := any(k).(type) {
	case *APIKey:
		cp := *x
		e.key, digest = &cp, x.TokenHash
	case *NoSessionKey:
		cp := *x
		e.nsKey, digest = &cp, x.TokenHash
	}
	c.put("k:"+digest, e, epoch)
}

// Apply carries out invalidation messages (space-separated), from this
// instance or another.
func (c *Cache) Apply(msgs string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch.Add(1)
	for _, msg := range strings.Fields(msgs) {
		kind, arg, _ := strings.Cut(msg, ":")
		switch kind {
		case "u", "s", "k":
			c.lru.Remove(msg)
		case "us", "uk", "ks":
			c.removeWhere(kind, arg)
		case "all":
			c.lru.Purge()
		}
	}
}

// removeWhere drops the sessions or keys of a user, or the keys of a
// session (called with mu; a scan, for the rare writes that need it).
func (c *Cache) removeWhere(kind, arg string) {
	id, _ := strconv.ParseInt(arg, 10, 64)
	for _, k := range c.lru.Keys() {
		e, ok := c.lru.Peek(k)
		if !ok {
			continue
		}
		drop := false
		switch kind {
		case "us":
			drop = e.session != nil && e.session.UserID == id
		case "uk":
			drop = (e.key != nil && e.key.UserID == id) || (e.nsKey != nil && e.nsKey.UserID == id)
		case "ks":
			drop = e.key != nil && e.key.SessionTokenHash == arg
		}
		if drop {
			c.lru.Remove(k)
		}
	}
}
