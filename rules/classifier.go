package rules

import (
	"sync/atomic"
	"time"
)

// Options configure a Classifier.
type Options struct {
	// CacheBytes bounds the statement cache (text, results and overhead).
	CacheBytes int64
	// MaxStatementBytes is the largest query string belay parses; larger
	// ones are refused as too-complex (default 4 MB).
	MaxStatementBytes int
	// ObserveParse, if set, is told how long each parse took (cache misses
	// only), for the parse-time histogram.
	ObserveParse func(time.Duration)
}

// DefaultMaxStatementBytes is the default of Options.MaxStatementBytes.
const DefaultMaxStatementBytes = 4 << 20

// Classifier classifies statements, caching by exact text. Safe for
// concurrent use by every session.
type Classifier struct {
	parser            sqlParser
	cache             *cache[*Classification]
	shapes            *shapeCache
	maxStatementBytes int
	observe           func(time.Duration)
	hits, misses      atomic.Uint64
}

// NewClassifier returns a classifier backed by libpg_query.
func NewClassifier(opts Options) *Classifier {
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.MaxStatementBytes <= 0 {
		opts.MaxStatementBytes = DefaultMaxStatementBytes
	}
	return &Classifier{
		parser:            cgoParser{},
		cache:             newCache(opts.CacheBytes / 2),
		shapes:            newShapeCache(opts.CacheBytes / 2),
		maxStatementBytes: opts.MaxStatementBytes,
		observe:           opts.ObserveParse,
	}
}

// CacheStats returns how many Inspect lookups hit and missed the cache.
func (c *Classifier) CacheStats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}

func (c *Classifier) countLookup(hit bool) {
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

func (c *Classifier) observeParse(start time.Time) {
	if c.observe != nil {
		c.observe(time.Since(start))
	}
}

// Classify returns the classification of one query string (which may hold
// several statements). text is only read during the call.
func (c *Classifier) Classify(text []byte) *Classification {
	if cl, ok := c.cache.get(text); ok {
		return cl
	}
	key := string(text)
	cl := c.classify(key)
	c.cache.put(key, cl)
	return cl
}

func (c *Classifier) classify(sql string) *Classification {
	var sc Scratch
	if sh, ok := MakeShape([]byte(sql), &sc); ok && sh.TooDeep {
		return &Classification{Err: errTooDeep}
	} else if !ok && len(sql) > maxUnshapedBytes {
		return &Classification{Err: errUnshaped}
	}
	fp, err := c.parser.fingerprint(sql)
	if err != nil {
		return &Classification{Err: parseError(err)}
	}
	norm, err := c.parser.normalize(sql)
	if err != nil {
		return &Classification{Fingerprint: fp, Err: parseError(err)}
	}
	return &Classification{Fingerprint: fp, Normalized: norm}
}

// CachedStatements is the number of distinct texts in the cache.
func (c *Classifier) CachedStatements() int { return c.cache.len() }
