// Command mailgun is a github.com/mailgun/groupcache/v2 peer for the interop tests (see
// front). mailgun has TTLs (GetResponse field 3), Set and Remove; RemoveKeys answers 501.
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/mailgun/groupcache/v2"
	"github.com/mailgun/groupcache/v2/consistenthash"

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
	// The construction HTTPPool.Set uses: the default hash (FNV-1 over md5 hex points).
	ring := consistenthash.New(p.cfg.Replicas, nil)
	ring.Add(urls...)
	return ring.Get(key)
}

func (p *peer) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	var view groupcache.ByteView
	if err := p.group.Get(ctx, key, groupcache.ByteViewSink(&view)); err != nil {
		return nil, time.Time{}, err
	}
	return view.ByteSlice(), view.Expire(), nil
}

func (p *peer) Set(ctx context.Context, key string, value []byte, expire time.Time) error {
	return p.group.Set(ctx, key, value, expire, false)
}

func (p *peer) Remove(ctx context.Context, key string) error {
	return p.group.Remove(ctx, key)
}

func (p *peer) RemoveKeys(context.Context, []string) error {
	return fmt.Errorf("%w: mailgun/groupcache v2 has no RemoveKeys", front.ErrUnsupported)
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
		BasePath:  cfg.Base,
		Replicas:  cfg.Replicas,
		Transport: cfg.TransportFunc(),
	})
	group := groupcache.NewGroup(cfg.Group, cfg.Size, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			value, expire, err := cfg.Load(key)
			if err != nil {
				return err
			}
			return dest.SetBytes(value, expire)
		}))
	return &peer{cfg: cfg, pool: pool, group: group}, pool, nil
}

func main() {
	front.Main(front.Variant{
		Name:   "mailgun",
		Module: "github.com/mailgun/groupcache/v2",
		New:    newPeer,
	})
}
