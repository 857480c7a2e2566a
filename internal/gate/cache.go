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
}

type lruEntry struct {
	key     string
	value   any
	size    int64
	expires time.Time
}

func newLRU(maxBytes int64) *lru {
	return &lru{maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the live value under key. An expired entry is removed and reported absent.
func (c *lru) get(key string, now time.Time) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// put stores value under key until expires. An entry larger than the whole cache is not
// stored. Older entries are evicted until the new one fits.
func (c *lru) put(key string, value any, size int64, expires time.Time) {
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	for c.used+size > c.maxBytes {
		back := c.order.Back()
		if back == nil {
			break
		}
		c.remove(back)
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, value: value, size: size, expires: expires})
	c.used += size
}

func (c *lru) remove(el *list.Element) {
	e := el.Value.(*lruEntry)
	c.order.Remove(el)
	delete(c.items, e.key)
	c.used -= e.size
}

// stats returns the entry count and the bytes held.
func (c *lru) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used
}
