package gate

import (
	"container/list"
	"sync"
	"time"
)

// lru is a least-recently-used cache bounded by the total size of its entries, with a
// per-entry expiry. The zero value is not usable; call newLRU.
type lru struct {
	mu       sync.Mutex
	maxBytes int64
	used     int64
	order    *list.List // front = most recently used
	items    map[string]*list.Element
	// onRemove, when set, is called for every entry that leaves the cache (evicted,
	// expired, replaced or removed), after the cache's lock is released, so it may use
	// the cache again.
	onRemove func(key string, value any)
}

type lruEntry struct {
	key     string
	value   any
	size    int64
	expires time.Time
}

func newLRU(maxBytes int64, onRemove func(key string, value any)) *lru {
	return &lru{maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}, onRemove: onRemove}
}

// get returns the live value under key. An expired entry is removed and reported absent.
func (c *lru) get(key string, now time.Time) (any, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		c.mu.Unlock()
		c.removed(e)
		return nil, false
	}
	c.order.MoveToFront(el)
	c.mu.Unlock()
	return e.value, true
}

// put stores value under key until expires and reports whether it did. An entry larger
// than the whole cache is not stored. Older entries are evicted until the new one fits.
func (c *lru) put(key string, value any, size int64, expires time.Time) bool {
	if size > c.maxBytes {
		return false
	}
	c.mu.Lock()
	var gone []*lruEntry
	if el, ok := c.items[key]; ok {
		gone = append(gone, c.remove(el))
	}
	gone = c.makeRoom(size, gone)
	c.items[key] = c.order.PushFront(&lruEntry{key: key, value: value, size: size, expires: expires})
	c.used += size
	c.mu.Unlock()
	c.removed(gone...)
	return true
}

// resize sets the size of the entry under key, if it still holds value, evicting
// others to make room. It reports whether the entry is still cached.
func (c *lru) resize(key string, value any, size int64) bool {
	c.mu.Lock()
	el, ok := c.items[key]
	if !ok || el.Value.(*lruEntry).value != value {
		c.mu.Unlock()
		return false
	}
	e := el.Value.(*lruEntry)
	var gone []*lruEntry
	if size > c.maxBytes {
		gone = append(gone, c.remove(el))
	} else {
		c.used += size - e.size
		e.size = size
		c.order.MoveToFront(el)
		gone = c.makeRoom(0, gone)
	}
	_, kept := c.items[key]
	c.mu.Unlock()
	c.removed(gone...)
	return kept
}

// removeIf removes the entry under key if it holds value.
func (c *lru) removeIf(key string, value any) {
	c.mu.Lock()
	el, ok := c.items[key]
	if !ok || el.Value.(*lruEntry).value != value {
		c.mu.Unlock()
		return
	}
	e := c.remove(el)
	c.mu.Unlock()
	c.removed(e)
}

// makeRoom evicts from the least recently used end until size more bytes fit,
// appending what it evicts to gone. The caller holds c.mu.
func (c *lru) makeRoom(size int64, gone []*lruEntry) []*lruEntry {
	for c.used+size > c.maxBytes {
		back := c.order.Back()
		if back == nil {
			break
		}
		gone = append(gone, c.remove(back))
	}
	return gone
}

// remove unlinks el; the caller holds c.mu and then calls removed without it.
func (c *lru) remove(el *list.Element) *lruEntry {
	e := el.Value.(*lruEntry)
	c.order.Remove(el)
	delete(c.items, e.key)
	c.used -= e.size
	return e
}

// removed reports entries that left the cache to onRemove.
func (c *lru) removed(gone ...*lruEntry) {
	if c.onRemove == nil {
		return
	}
	for _, e := range gone {
		c.onRemove(e.key, e.value)
	}
}

// stats returns the entry count and the bytes held.
func (c *lru) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used
}

// count returns how many entries hold a value for which match is true.
func (c *lru) count(match func(any) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, el := range c.items {
		if match(el.Value.(*lruEntry).value) {
			n++
		}
	}
	return n
}
