package rules

import (
	"sync"
	"sync/atomic"
)

// cache maps exact statement text to its classification, bounded in bytes.
// Eviction is CLOCK (second chance): a hit only sets a flag, so lookups take
// a read lock and never reorder anything.
type cache struct {
	mu       sync.RWMutex
	entries  map[string]*cacheEntry
	ring     []*cacheEntry
	hand     int
	bytes    int64
	maxBytes int64
}

type cacheEntry struct {
	key  string
	val  *Classification
	size int64
	used atomic.Bool
}

func newCache(maxBytes int64) *cache {
	return &cache{entries: make(map[string]*cacheEntry), maxBytes: maxBytes}
}

// get looks up text; the []byte→string conversion in the index does not
// allocate.
func (c *cache) get(text []byte) (*Classification, bool) {
	c.mu.RLock()
	e, ok := c.entries[string(text)]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.val, true
}

// entryOverhead approximates map, ring and struct costs per entry.
const entryOverhead = 160

func (c *cache) put(key string, val *Classification) {
	size := int64(len(key)+len(val.Normalized)+len(val.Fingerprint)) + entryOverhead
	if size > c.maxBytes/4 { // one huge statement must not flush the cache
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	for c.bytes+size > c.maxBytes && len(c.ring) > 0 {
		c.evictOne()
	}
	e := &cacheEntry{key: key, val: val, size: size}
	c.entries[key] = e
	c.ring = append(c.ring, e)
	c.bytes += size
}

// evictOne advances the clock hand to the first entry not used since the
// hand last passed it, and removes it.
func (c *cache) evictOne() {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		if e.used.Swap(false) {
			c.hand++
			continue
		}
		last := len(c.ring) - 1
		c.ring[c.hand] = c.ring[last]
		c.ring[last] = nil
		c.ring = c.ring[:last]
		delete(c.entries, e.key)
		c.bytes -= e.size
		return
	}
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
