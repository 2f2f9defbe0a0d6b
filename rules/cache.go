package rules

import (
	"sync"
	"sync/atomic"
)

// cache maps exact statement text to its classification, bounded in bytes.
// Eviction is CLOCK (second chance): a hit only sets a flag, so lookups take
// a read lock and never reorder anything.
type cache[V any] struct {
	sizeOf   func(V) int64
	mu       sync.RWMutex
	entries  map[string]*cacheEntry[V]
	ring     []*cacheEntry[V]
	hand     int
	bytes    int64
	maxBytes int64
}

type cacheEntry[V any] struct {
	key  string
	val  V
	size int64
	used atomic.Bool
}

// newCache is the cache of Classify, keyed by exact text.
func newCache(maxBytes int64) *cache[*Classification] {
	return &cache[*Classification]{
		entries:  make(map[string]*cacheEntry[*Classification]),
		maxBytes: maxBytes,
		sizeOf: func(v *Classification) int64 {
			return int64(len(v.Normalized) + len(v.Fingerprint))
		},
	}
}

// shapeCache is the cache of Inspect, keyed by shape.
type shapeCache = cache[*shapeEntry]

func newShapeCache(maxBytes int64) *shapeCache {
	return &shapeCache{
		entries:  make(map[string]*cacheEntry[*shapeEntry]),
		maxBytes: maxBytes,
		sizeOf: func(v *shapeEntry) int64 {
			n := int64(len(v.statements)) * (48 + factsOverhead)
			for _, s := range v.statements {
				n += int64(len(s.Fingerprint))
			}
			return n
		},
	}
}

// get looks up text; the []byte→string conversion in the index does not
// allocate.
func (c *cache[V]) get(text []byte) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[string(text)]
	c.mu.RUnlock()
	if !ok {
		var zero V
		return zero, false
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.val, true
}

// entryOverhead approximates map, ring and struct costs per entry.
const entryOverhead = 160

func (c *cache[V]) put(key string, val V) {
	size := int64(len(key)) + c.sizeOf(val) + entryOverhead
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
	e := &cacheEntry[V]{key: key, val: val, size: size}
	c.entries[key] = e
	c.bytes += size
	// The new entry goes just behind the hand, so that it is the last one
	// the hand reaches: a whole sweep to be used before it can be evicted.
	// The entry it displaces has not been swept yet and moves to the end,
	// still ahead of the hand.
	c.ring = append(c.ring, e)
	if last := len(c.ring) - 1; c.hand < last {
		c.ring[c.hand], c.ring[last] = e, c.ring[c.hand]
	}
	c.hand++
}

// evictOne advances the clock hand to the first entry not used since the
// hand last passed it, and removes it. The last entry (not yet swept) takes
// its place, still ahead of the hand.
func (c *cache[V]) evictOne() {
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

func (c *cache[V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// factsOverhead is a rough size of one statement's Facts (tables,
// findings, strings) for the cache's byte budget.
const factsOverhead = 256
