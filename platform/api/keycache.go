package api

import (
	"sync"
	"time"
)

// keyCache keeps recently authenticated API keys in process for a short TTL,
// so the hot path skips the Redis round trip. Only known keys are kept: their
// number is bounded by the sources table, while unknown keys could be sprayed.
// A deactivated key keeps working here for at most the TTL, well inside the
// Redis cache's own TTL.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]keyCacheEntry
}

type keyCacheEntry struct {
	source  string
	expires time.Time
}

// newKeyCache returns nil (no caching) when ttl is 0.
func newKeyCache(ttl time.Duration, max int) *keyCache {
	if ttl <= 0 {
		return nil
	}
	return &keyCache{ttl: ttl, max: max, now: time.Now, entries: map[string]keyCacheEntry{}}
}

func (c *keyCache) get(hash string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		return "", false
	}
	return e.source, true
}

func (c *keyCache) put(hash, source string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Far more keys than sources: start over rather than grow.
		c.entries = make(map[string]keyCacheEntry, c.max)
	}
	c.entries[hash] = keyCacheEntry{source: source, expires: c.now().Add(c.ttl)}
}
