package gate

// CacheBytes is what the gate's cache holds now, in bytes, for the composition root's
// gauges.
func (g *Gate) CacheBytes() int64 {
	_, bytes := g.cache.stats()
	return bytes
}
