// Command golang is a github.com/golang/groupcache peer for the interop tests (see front).
// golang has no TTL, Set, Remove or RemoveKeys: those admin calls answer 501.
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/golang/groupcache"
	"github.com/golang/groupcache/consistenthash"

	"interop.test/front"
)

type peer struct {
	cfg   front.Config
	pool  *groupcache.HTTPPool
	group *groupcache.Group
}

func (p *peer) SetPeers(urls []string) error {
	p.pool.Set(urls...)
	return nil
}

func (p *peer) Owner(key string, urls []string) string {
	// The construction HTTPPool.Set uses: the default hash (crc32), members in order.
	ring := consistenthash.New(p.cfg.Replicas, nil)
	ring.Add(urls...)
	return ring.Get(key)
}

func (p *peer) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	var value []byte
	err := p.group.Get(ctx, key, groupcache.AllocatingByteSliceSink(&value))
	return value, time.Time{}, err
}

func (p *peer) Set(context.Context, string, []byte, time.Time) error {
	return fmt.Errorf("%w: golang/groupcache has no Set", front.ErrUnsupported)
}

func (p *peer) Remove(context.Context, string) error {
	return fmt.Errorf("%w: golang/groupcache has no Remove", front.ErrUnsupported)
}

func (p *peer) RemoveKeys(context.Context, []string) error {
	return fmt.Errorf("%w: golang/groupcache has no RemoveKeys", front.ErrUnsupported)
}

func (p *peer) Stats() map[string]int64 {
	s := &p.group.Stats
	return map[string]int64{
		"Gets":           s.Gets.Get(),
		"CacheHits":      s.CacheHits.Get(),
		"PeerLoads":      s.PeerLoads.Get(),
		"PeerErrors":     s.PeerErrors.Get(),
		"Loads":          s.Loads.Get(),
		"LoadsDeduped":   s.LoadsDeduped.Get(),
		"LocalLoads":     s.LocalLoads.Get(),
		"LocalLoadErrs":  s.LocalLoadErrs.Get(),
		"ServerRequests": s.ServerRequests.Get(),
	}
}

func newPeer(cfg front.Config) (front.Peer, http.Handler, error) {
	pool := groupcache.NewHTTPPoolOpts(cfg.Self, &groupcache.HTTPPoolOptions{
		BasePath: cfg.Base,
		Replicas: cfg.Replicas,
	})
	pool.Transport = cfg.TransportFunc() // before any Set: each peer's getter copies it
	group := groupcache.NewGroup(cfg.Group, cfg.Size, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			value, _, err := cfg.Load(key) // no TTLs in golang
			if err != nil {
				return err
			}
			return dest.SetBytes(value)
		}))
	return &peer{cfg: cfg, pool: pool, group: group}, pool, nil
}

func main() {
	front.Main(front.Variant{
		Name:   "golang",
		Module: "github.com/golang/groupcache",
		New:    newPeer,
	})
}
