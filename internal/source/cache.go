package source

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// CacheOptions configure Cached. Zero values are noted per field.
type CacheOptions[V any] struct {
	// TTL is how long a fetched value is reused. Zero means 5 minutes.
	TTL time.Duration
	// TTLOf, when set, chooses each value's time to live instead of TTL (an immutable
	// document may be kept longer than a list); a value it gives zero or less for is
	// not kept. Nil means TTL for every value.
	TTLOf func(V) time.Duration
	// ErrorTTL is how long a permanent failure (IsTemporary false: a not-found, a
	// malformed document) is reused. Zero means failures are never kept. Temporary
	// failures and cancellations are never kept, whatever this says.
	ErrorTTL time.Duration
	// MaxEntries bounds how many keys are kept; the least recently used leaves first.
	// Zero means 10,000.
	MaxEntries int
	// SizeOf, when set, weighs a value in bytes for MaxBytes. Nil means values are
	// not weighed, and only MaxEntries bounds the cache.
	SizeOf func(V) int64
	// MaxBytes bounds the total SizeOf of the values kept; a value heavier than all of
	// it is not kept. Zero means 64 MiB. It is read only when SizeOf is set.
	MaxBytes int64
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Cache is the Fetcher Cached returns: a bounded, least-recently-used map of fetched
// values and permanent failures, each kept for its time to live. It is safe for
// concurrent use.
type Cache[V any] struct {
	f    Fetcher[V]
	opts CacheOptions[V]

	mu    sync.Mutex
	items map[string]*list.Element // of *entry[V]
	order *list.List               // front = most recently used
	bytes int64
}

type entry[V any] struct {
	key     string
	val     V
	err     error
	size    int64
	expires time.Time
}

// Cached returns a Fetcher that answers from memory what f answered before, for as
// long as opts allow, and asks f otherwise. Wrap f in Singleflight first so that
// concurrent misses of one key cost one fetch.
func Cached[V any](f Fetcher[V], opts CacheOptions[V]) *Cache[V] {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10_000
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Cache[V]{f: f, opts: opts, items: make(map[string]*list.Element), order: list.New()}
}

var _ Fetcher[int] = (*Cache[int])(nil)

// Fetch returns the live entry under key, or fetches it and keeps the result as opts
// say.
func (c *Cache[V]) Fetch(ctx context.Context, key string) (V, error) {
	if e := c.get(key); e != nil {
		return e.val, e.err
	}
	v, err := c.f.Fetch(ctx, key)
	c.put(key, v, err)
	return v, err
}

// Forget drops whatever is kept under key.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
}

// Len returns how many entries are kept, expired ones included until they are next
// asked for or evicted.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// get returns the live entry under key, or nil. An expired entry is dropped. Entries
// are never modified once made, so the caller may read the one returned unlocked.
func (c *Cache[V]) get(key string) *entry[V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	e := el.Value.(*entry[V])
	if !c.opts.Now().Before(e.expires) {
		c.remove(el)
		return nil
	}
	c.order.MoveToFront(el)
	return e
}

// put keeps a fetch's result if its kind of result is kept, evicting the least
// recently used entries to make room.
func (c *Cache[V]) put(key string, v V, err error) {
	var ttl time.Duration
	var size int64
	switch {
	case err != nil:
		if IsTemporary(err) {
			return
		}
		ttl = c.opts.ErrorTTL
	case c.opts.TTLOf != nil:
		ttl = c.opts.TTLOf(v)
	default:
		ttl = c.opts.TTL
	}
	if ttl <= 0 {
		return
	}
	if err == nil && c.opts.SizeOf != nil {
		size = max(c.opts.SizeOf(v), 0)
		if size > c.opts.MaxBytes {
			return
		}
	}
	e := &entry[V]{key: key, val: v, err: err, size: size, expires: c.opts.Now().Add(ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	for len(c.items) >= c.opts.MaxEntries || c.bytes+size > c.opts.MaxBytes {
		back := c.order.Back()
		if back == nil {
			break
		}
		c.remove(back)
	}
	c.items[key] = c.order.PushFront(e)
	c.bytes += size
}

// remove unlinks el; the caller holds c.mu.
func (c *Cache[V]) remove(el *list.Element) {
	e := el.Value.(*entry[V])
	c.order.Remove(el)
	delete(c.items, e.key)
	c.bytes -= e.size
}
