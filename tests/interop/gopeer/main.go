// Command gopeer is a golang/groupcache peer for the Python interoperability tests.
//
// It serves the groupcache wire protocol under -base and a small plain-text/JSON
// admin API under /admin/ on the same listener:
//
//	POST /admin/peers             body: newline-separated peer URLs -> pool.Set(urls...)
//	GET  /admin/loads             {"key": getter calls}
//	GET  /admin/get?key=K         group.Get from this node: 200 + value, or 500 + error
//	GET  /admin/owner?key=K       owner of K on the ring of the last /admin/peers
//	GET  /admin/owner?key=K&peers=u1,u2
//	                              owner of K on a ring of exactly those members (nothing is contacted)
//	GET  /admin/stats             group.Stats as JSON
//
// The getter returns "go:"+key, or fails for keys starting with "err:".
// Once listening it prints exactly one line, "LISTEN http://HOST:PORT", to stdout.
// SIGTERM or SIGINT shuts it down cleanly.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/golang/groupcache"
	"github.com/golang/groupcache/consistenthash"
)

// loadCounter counts getter calls per key.
type loadCounter struct {
	mu    sync.Mutex     // protects calls
	calls map[string]int // key -> getter calls
}

func (c *loadCounter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[key]++
}

func (c *loadCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// admin serves /admin/.
type admin struct {
	pool     *groupcache.HTTPPool
	group    *groupcache.Group
	loads    *loadCounter
	replicas int

	mu    sync.Mutex // protects peers
	peers []string   // as last passed to pool.Set, in order
}

func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/admin/peers":
		a.setPeers(w, r)
	case "/admin/loads":
		writeJSON(w, a.loads.snapshot())
	case "/admin/get":
		a.get(w, r)
	case "/admin/owner":
		a.owner(w, r)
	case "/admin/stats":
		a.stats(w)
	default:
		http.NotFound(w, r)
	}
}

func (a *admin) setPeers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	peers := splitNonEmpty(string(body), "\n")
	a.mu.Lock()
	a.peers = peers
	a.pool.Set(peers...)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

func (a *admin) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, ok := q["key"]; !ok {
		http.Error(w, "missing key", http.StatusBadRequest)
		return
	}
	var value string
	if err := a.group.Get(r.Context(), q.Get("key"), groupcache.StringSink(&value)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	io.WriteString(w, value)
}

func (a *admin) owner(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, ok := q["key"]; !ok {
		http.Error(w, "missing key", http.StatusBadRequest)
		return
	}
	var members []string
	if explicit, ok := q["peers"]; ok {
		for _, v := range explicit {
			members = append(members, splitNonEmpty(v, ",")...)
		}
	} else {
		a.mu.Lock()
		members = append(members, a.peers...)
		a.mu.Unlock()
	}
	// The same construction HTTPPool.Set uses: default hash (crc32), members in order.
	ring := consistenthash.New(a.replicas, nil)
	ring.Add(members...)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, ring.Get(q.Get("key")))
}

func (a *admin) stats(w http.ResponseWriter) {
	s := &a.group.Stats
	writeJSON(w, map[string]int64{
		"Gets":           s.Gets.Get(),
		"CacheHits":      s.CacheHits.Get(),
		"PeerLoads":      s.PeerLoads.Get(),
		"PeerErrors":     s.PeerErrors.Get(),
		"Loads":          s.Loads.Get(),
		"LoadsDeduped":   s.LoadsDeduped.Get(),
		"LocalLoads":     s.LocalLoads.Get(),
		"LocalLoadErrs":  s.LocalLoadErrs.Get(),
		"ServerRequests": s.ServerRequests.Get(),
	})
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, part := range strings.Split(s, sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	groupName := flag.String("group", "interop", "groupcache group name")
	size := flag.Int64("size", 1<<20, "group cache size in bytes")
	base := flag.String("base", "/_groupcache/", "groupcache base path (must start and end with /)")
	replicas := flag.Int("replicas", 50, "consistent-hash replicas")
	flag.Parse()
	log.SetPrefix("gopeer: ")

	if !strings.HasPrefix(*base, "/") || !strings.HasSuffix(*base, "/") || strings.HasPrefix(*base, "/admin/") {
		log.Fatalf("bad -base %q: must start and end with / and not be under /admin/", *base)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	self := "http://" + ln.Addr().String()

	pool := groupcache.NewHTTPPoolOpts(self, &groupcache.HTTPPoolOptions{
		BasePath: *base,
		Replicas: *replicas,
	})
	loads := &loadCounter{calls: make(map[string]int)}
	group := groupcache.NewGroup(*groupName, *size, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			loads.add(key)
			if strings.HasPrefix(key, "err:") {
				return errors.New("go getter failed: " + key)
			}
			return dest.SetString("go:" + key)
		}))

	mux := http.NewServeMux()
	mux.Handle(*base, pool)
	mux.Handle("/admin/", &admin{pool: pool, group: group, loads: loads, replicas: *replicas})
	srv := &http.Server{Handler: mux}

	// Before the LISTEN line: a SIGTERM sent as soon as the line is read must find the
	// handler installed (under load it once arrived first and killed the process).
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if _, err := fmt.Fprintf(os.Stdout, "LISTEN %s\n", self); err != nil {
		log.Fatal(err)
	}
	os.Stdout.Sync() // a pipe: a no-op error, but explicit about the intent

	select {
	case err := <-serveErr:
		log.Fatal(err)
	case <-stop:
	}
	// Close, not Shutdown: Shutdown waits up to 5s for connections that peers' Go
	// transports dialled but never used (StateNew), and nothing is in flight at teardown.
	if err := srv.Close(); err != nil {
		log.Fatal(err)
	}
}
