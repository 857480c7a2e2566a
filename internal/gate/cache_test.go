package gate

import (
	"github.com/ecluse/ecluse/internal/npm"
	"strings"
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newLRU(100, nil)
	c.put("a", "A", 40, now.Add(time.Minute))
	c.put("b", "B", 40, now.Add(time.Minute))
	if _, ok := c.get("a", now); !ok { // a becomes most recent
		t.Fatal("a missing")
	}
	c.put("c", "C", 40, now.Add(time.Minute)) // evicts b, the least recently used
	if _, ok := c.get("b", now); ok {
		t.Error("b survived eviction")
	}
	if v, ok := c.get("a", now); !ok || v != "A" {
		t.Errorf("get(a) = %v, %v", v, ok)
	}
	if _, ok := c.get("c", now.Add(time.Minute)); ok {
		t.Error("c served at its expiry")
	}
	c.put("huge", "H", 101, now.Add(time.Minute))
	if _, ok := c.get("huge", now); ok {
		t.Error("an entry larger than the cache was stored")
	}
	if n, used := c.stats(); n != 1 || used != 40 {
		t.Errorf("stats = %d entries, %d bytes; want 1, 40", n, used)
	}
	c.put("a", "A2", 10, now.Add(time.Minute))
	if n, used := c.stats(); n != 1 || used != 10 {
		t.Errorf("after replace stats = %d, %d; want 1, 10", n, used)
	}
}

func TestETag(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"identical bodies", `{"a":1}`, `{"a":1}`, true},
		{"one byte differs", `{"a":1}`, `{"a":2}`, false},
		{"same bytes, different length", `{"a":1}`, `{"a":1} `, false},
		{"swapped bytes", `{"ab":1}`, `{"ba":1}`, false},
		{"empty and not", ``, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ea, eb := etag(npm.TextOf([]byte(tt.a))), etag(npm.TextOf([]byte(tt.b)))
			if (ea == eb) != tt.same {
				t.Errorf("etag(%q) = %s, etag(%q) = %s; want equal %v", tt.a, ea, tt.b, eb, tt.same)
			}
			if !strings.HasPrefix(ea, `"`) || !strings.HasSuffix(ea, `"`) || len(ea) < 20 {
				t.Errorf("etag %s is not a quoted strong validator", ea)
			}
		})
	}
}
