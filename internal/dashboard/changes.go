package dashboard

import "sync"

// Key names one rollout of one cluster.
type Key struct {
	Cluster   string
	Namespace string
	Name      string
}

// changes tells the open pages that what they show may have changed. A
// page's channel holds one pending notice: notices arriving before the page
// reads it merge into it, which is half of the coalescing (the stream's
// push interval is the other).
type changes struct {
	mu sync.Mutex
	// pages maps each open page to the rollout it shows; the zero Key for
	// a list page.
	pages map[chan struct{}]Key
}

func newChanges() *changes { return &changes{pages: map[chan struct{}]Key{}} }

// subscribe registers a page showing key (the zero Key: the list) and
// returns its channel, with a notice pending so that it sends its first view.
func (c *changes) subscribe(key Key) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	c.mu.Lock()
	c.pages[ch] = key
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.pages, ch)
		c.mu.Unlock()
	}
}

// rolloutChanged tells the pages of the rollout, and with inList the list
// pages too: the list shows only what the rollout object itself says.
func (c *changes) rolloutChanged(key Key, inList bool) {
	c.notify(func(page Key) bool { return page == key || (inList && page == Key{}) })
}

// clusterChanged tells every page of the cluster and the list pages: the
// cluster became reachable or not.
func (c *changes) clusterChanged(cluster string) {
	c.notify(func(page Key) bool { return page == Key{} || page.Cluster == cluster })
}

func (c *changes) notify(shows func(Key) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch, page := range c.pages {
		if shows(page) {
			select {
			case ch <- struct{}{}:
			default: // a notice is pending already
			}
		}
	}
}
