// Command groupcache-go is a github.com/groupcache/groupcache-go/v3 peer for the interop
// tests (see front). v3 has TTLs (GetResponse field 3), Set, Remove and RemoveKeys. Its
// ring members are host:port, not URLs: the admin API still speaks URLs (http://host:port,
// https:// with TLS) and maps them. The scheme is the transport's, one for every peer.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/groupcache/groupcache-go/v3"
	"github.com/groupcache/groupcache-go/v3/transport"
	"github.com/groupcache/groupcache-go/v3/transport/peer"

	"interop.test/front"
)

type node struct {
	cfg       front.Config
	transport *transport.HttpTransport
	instance  *groupcache.Instance
	group     groupcache.Group
}

// address is a peer URL's host:port, the string v3 hashes (peer.Info.Address). The URL's
// scheme must be this node's: v3 speaks one scheme (its transport's) to every peer.
func (n *node) address(url string) (string, error) {
	scheme := n.cfg.Scheme()
	addr, ok := strings.CutPrefix(url, scheme+"://")
	if !ok || addr == "" || strings.Contains(addr, "/") {
		return "", fmt.Errorf("peer URL must be %s://host:port, not %q", scheme, url)
	}
	return addr, nil
}

func (n *node) SetPeers(urls []string) error {
	self, _ := n.address(n.cfg.Self)
	infos := make([]peer.Info, 0, len(urls))
	for _, url := range urls {
		addr, err := n.address(url)
		if err != nil {
			return err
		}
		infos = append(infos, peer.Info{Address: addr, IsSelf: addr == self})
	}
	return n.instance.SetPeers(context.Background(), infos)
}

func (n *node) Owner(key string, urls []string) string {
	// The construction Instance.SetPeers uses: default hash and replicas of the options.
	picker := peer.NewPicker(peer.Options{Replicas: n.cfg.Replicas})
	for _, url := range urls {
		addr, err := n.address(url)
		if err != nil {
			return "bad peer URL " + url
		}
		client, err := n.transport.NewClient(context.Background(), peer.Info{Address: addr})
		if err != nil {
			return err.Error()
		}
		picker.Add(client)
	}
	if picker.IsEmpty() {
		return ""
	}
	return n.cfg.Scheme() + "://" + picker.Get(key).PeerInfo().Address
}

func (n *node) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	var view transport.ByteView
	if err := n.group.Get(ctx, key, transport.ByteViewSink(&view)); err != nil {
		return nil, time.Time{}, err
	}
	return view.ByteSlice(), view.Expire(), nil
}

func (n *node) Set(ctx context.Context, key string, value []byte, expire time.Time) error {
	return n.group.Set(ctx, key, value, expire, false)
}

func (n *node) Remove(ctx context.Context, key string) error {
	return n.group.Remove(ctx, key)
}

func (n *node) RemoveKeys(ctx context.Context, keys []string) error {
	return n.group.RemoveKeys(ctx, keys...)
}

func (n *node) Stats() map[string]int64 {
	s := n.group.GroupStats()
	return map[string]int64{ // v3 has no ServerRequests
		"Gets":               s.Gets.Get(),
		"CacheHits":          s.CacheHits.Get(),
		"PeerLoads":          s.PeerLoads.Get(),
		"PeerErrors":         s.PeerErrors.Get(),
		"Loads":              s.Loads.Get(),
		"LoadsDeduped":       s.LoadsDeduped.Get(),
		"LocalLoads":         s.LocalLoads.Get(),
		"LocalLoadErrs":      s.LocalLoadErrs.Get(),
		"RemoveKeysRequests": s.RemoveKeysRequests.Get(),
		"RemovedKeys":        s.RemovedKeys.Get(),
	}
}

func newNode(cfg front.Config) (front.Peer, http.Handler, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var client *http.Client // nil: http.DefaultClient
	if cfg.Transport != nil {
		client = &http.Client{Transport: cfg.Transport}
	}
	t := transport.NewHttpTransport(transport.HttpTransportOptions{
		BasePath: cfg.Base,
		Logger:   logger,
		// Makes NewClient's peer URLs https:// (the front end's listener serves it: v3's
		// ListenAndServe, which would use it too, is not called).
		TLSConfig: cfg.ServerTLS,
		Client:    client,
	})
	instance := groupcache.New(groupcache.Options{
		Transport: t, // registers the instance with the transport
		Replicas:  cfg.Replicas,
		Logger:    logger,
	})
	group, err := instance.NewGroup(cfg.Group, cfg.Size, groupcache.GetterFunc(
		func(_ context.Context, key string, dest transport.Sink) error {
			value, expire, err := cfg.Load(key)
			if err != nil {
				return err
			}
			return dest.SetBytes(value, expire)
		}))
	if err != nil {
		return nil, nil, err
	}
	return &node{cfg: cfg, transport: t, instance: instance, group: group}, t, nil
}

func main() {
	front.Main(front.Variant{
		Name:   "groupcache-go",
		Module: "github.com/groupcache/groupcache-go/v3",
		New:    newNode,
	})
}
