// Command modernprogram is a github.com/modernprogram/groupcache/v2 peer (v2.7.22 and
// later: the expiry is GetResponse field 2) for the interop tests (see front). It has
// TTLs, Set and Remove; RemoveKeys answers 501.
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/modernprogram/groupcache/v2"
	"github.com/modernprogram/groupcache/v2/consistenthash"

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
	if err := p.group.Get(ctx, key, groupcache.ByteViewSink(&view), nil); err != nil {
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
	return fmt.Errorf("%w: modernprogram/groupcache v2 has no RemoveKeys", front.ErrUnsupported)
}

func (p *peer) Stats() map[string]int64 {
	s := &p.group.Stats
	return map[string]int64{
		"Gets":              s.Gets.Load(),
		"CacheHits":         s.CacheHits.Load(),
		"PeerLoads":         s.PeerLoads.Load(),
		"PeerErrors":        s.PeerErrors.Load(),
		"Loads":             s.Loads.Load(),
		"LoadsDeduped":      s.LoadsDeduped.Load(),
		"LocalLoads":        s.LocalLoads.Load(),
		"LocalLoadErrs":     s.LocalLoadErrs.Load(),
		"ServerRequests":    s.ServerRequests.Load(),
		"CrosstalkRefusals": s.CrosstalkRefusals.Load(),
	}
}

func newPeer(cfg front.Config) (front.Peer, http.Handler, error) {
	ws := groupcache.NewWorkspace(15 * time.Second) // the response-header timeout
	pool := groupcache.NewHTTPPoolOpts(ws, cfg.Self, &groupcache.HTTPPoolOptions{
		BasePath:  cfg.Base,
		Replicas:  cfg.Replicas,
		Transport: cfg.TransportFunc(),
	})
	group := groupcache.NewGroup(groupcache.Options{
		Workspace:       ws,
		Name:            cfg.Group,
		CacheBytesLimit: cfg.Size,
		Getter: groupcache.GetterFunc(
			func(_ context.Context, key string, dest groupcache.Sink, _ *groupcache.Info) error {
				value, expire, err := cfg.Load(key)
				if err != nil {
					return err
				}
				return dest.SetBytes(value, expire)
			}),
	})
	return &peer{cfg: cfg, pool: pool, group: group}, pool, nil
}

func main() {
	front.Main(front.Variant{
		Name:   "modernprogram",
		Module: "github.com/modernprogram/groupcache/v2",
		New:    newPeer,
	})
}
