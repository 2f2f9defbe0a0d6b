package rules

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// checkInvariants verifies the cache's bookkeeping: map and ring agree and
// bytes is the sum of the entry sizes, within the bound.
func checkInvariants(t *testing.T, c *cache[*Classification]) {
	t.Helper()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.bytes > c.maxBytes {
		t.Fatalf("bytes = %d > maxBytes %d", c.bytes, c.maxBytes)
	}
	if len(c.entries) != len(c.ring) {
		t.Fatalf("%d map entries, %d ring entries", len(c.entries), len(c.ring))
	}
	var sum int64
	for _, e := range c.ring {
		if c.entries[e.key] != e {
			t.Fatalf("ring entry %q is not in the map", e.key)
		}
		sum += e.size
	}
	if sum != c.bytes {
		t.Fatalf("bytes = %d, entry sizes add up to %d", c.bytes, sum)
	}
}

func val(key string) *Classification {
	return &Classification{Fingerprint: "0123456789abcdef", Normalized: key}
}

// entrySize is what put charges for key with val(key).
func entrySize(key string) int64 { return int64(2*len(key)+16) + entryOverhead }

func TestCacheByteBound(t *testing.T) {
	const maxBytes = 4096
	c := newCache(maxBytes)
	maxLen := 0
	for i := range 500 {
		key := fmt.Sprintf("SELECT %d %s", i, strings.Repeat("x", i%300))
		c.put(key, val(key))
		checkInvariants(t, c)
		maxLen = max(maxLen, c.len())
	}
	if n := c.len(); n == 0 || n >= maxLen {
		t.Errorf("len = %d at the end, peak %d: want evictions to have shrunk it", n, maxLen)
	}
	if maxLen >= 500 {
		t.Errorf("cache held all %d entries in %d bytes", maxLen, maxBytes)
	}
}

func TestCachePutExistingKey(t *testing.T) {
	c := newCache(1 << 20)
	first := val("SELECT 1")
	c.put("SELECT 1", first)
	c.put("SELECT 1", val("SELECT 1"))
	checkInvariants(t, c)
	if got, ok := c.get([]byte("SELECT 1")); !ok || got != first || c.len() != 1 || c.bytes != entrySize("SELECT 1") {
		t.Errorf("after a second put: get = %p %v, len %d, bytes %d; want the first value once", got, ok, c.len(), c.bytes)
	}
}

func key(i int) string { return fmt.Sprintf("SELECT %04d", i) }

func TestCacheClockEvictsOldestUnused(t *testing.T) {
	const capacity = 10
	c := newCache(capacity * entrySize(key(0)))
	for i := range 2 * capacity {
		c.put(key(i), val(key(i)))
		checkInvariants(t, c)
	}
	// Without hits CLOCK is FIFO: the first ten are gone, the last ten stay.
	for i := range 2 * capacity {
		if _, ok := c.get([]byte(key(i))); ok != (i >= capacity) {
			t.Errorf("%q cached = %v, want %v", key(i), ok, i >= capacity)
		}
	}
}

func TestCacheClockKeepsRecentlyUsed(t *testing.T) {
	const capacity = 10
	c := newCache(capacity * entrySize(key(0)))
	for i := range capacity {
		c.put(key(i), val(key(i)))
	}
	if c.len() != capacity {
		t.Fatalf("len = %d after filling, want %d", c.len(), capacity)
	}
	hot := key(3)
	for i := capacity; i < 5*capacity; i++ {
		if _, ok := c.get([]byte(hot)); !ok {
			t.Fatalf("hot entry evicted after %d insertions", i-capacity)
		}
		c.put(key(i), val(key(i)))
		checkInvariants(t, c)
		if c.len() != capacity {
			t.Fatalf("len = %d, want %d", c.len(), capacity)
		}
	}
	for i := range capacity {
		if _, ok := c.get([]byte(key(i))); ok != (key(i) == hot) {
			t.Errorf("%q cached = %v; only the hot entry should survive", key(i), ok)
		}
	}
	// Once no longer used, the hot entry goes within two sweeps.
	for i := 5 * capacity; i < 7*capacity; i++ {
		c.put(key(i), val(key(i)))
	}
	if _, ok := c.get([]byte(hot)); ok {
		t.Error("entry survived two full sweeps without a hit")
	}
}

func TestCacheSkipsHugeEntries(t *testing.T) {
	const maxBytes = 4096
	limit := int((maxBytes/4 - entryOverhead - 16) / 2) // longest key that fits a quarter
	tests := []struct {
		keyLen int
		cached bool
	}{
		{limit, true},
		{limit + 1, false},
		{maxBytes, false},
	}
	for _, tc := range tests {
		c := newCache(maxBytes)
		c.put("SELECT 1", val("SELECT 1"))
		key := strings.Repeat("x", tc.keyLen)
		c.put(key, val(key))
		checkInvariants(t, c)
		if _, ok := c.get([]byte(key)); ok != tc.cached {
			t.Errorf("key of %d bytes: cached = %v, want %v", tc.keyLen, ok, tc.cached)
		}
		if _, ok := c.get([]byte("SELECT 1")); !ok {
			t.Errorf("key of %d bytes evicted the small entry", tc.keyLen)
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := newCache(8 << 10) // small: evictions happen all the time
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				key := fmt.Sprintf("SELECT %d", (i*7+g)%150)
				if v, ok := c.get([]byte(key)); ok {
					if v.Normalized != key {
						t.Errorf("get(%q) = %q", key, v.Normalized)
						return
					}
					continue
				}
				c.put(key, val(key))
				_ = c.len()
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, c)
}

func TestClassifierConcurrent(t *testing.T) {
	cl := NewClassifier(Options{CacheBytes: 16 << 10})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				got := cl.Classify(fmt.Appendf(nil, "SELECT * FROM t%d WHERE id = %d", (i+g)%40, i))
				if got.Err != nil || !strings.HasSuffix(got.Normalized, "WHERE id = $1") {
					t.Errorf("Classify = %+v", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, cl.cache)
}
