// Package front is the test front end that every Go peer of the interop tests shares:
// flags, the LISTEN line, signal handling, the getter and the admin API. Each variant's
// main package adapts its groupcache module to the Peer interface and calls Main.
//
// One listener serves the groupcache protocol under -base and the admin API:
//
//	POST /admin/peers             body: newline-separated peer URLs -> the pool's set-peers
//	GET  /admin/loads             {"key": getter calls}
//	GET  /admin/get?key=K         group Get from this node: 200 + value (X-Expire: Unix ns,
//	                              0 = none), or 500 + error
//	GET  /admin/owner?key=K       owner URL of K on the ring of the last /admin/peers
//	GET  /admin/owner?key=K&peers=u1,u2
//	                              owner of K on a ring of exactly those members (nothing is contacted)
//	GET  /admin/stats             the group's Stats as JSON
//	POST /admin/set?key=K&expire=NS   body: value -> group Set (expire: Unix ns, 0 = none)
//	POST /admin/remove?key=K      group Remove
//	POST /admin/remove-keys       body: JSON list of keys -> group RemoveKeys
//	GET  /admin/variant           {"variant", "module", "version", "go"}
//
// Writes answer 200 "ok", 501 "unsupported: ..." when the variant has no such call, or
// 500 + the error. The getter returns "go:"+key (padded with '.' to -value-bytes bytes
// when that is longer: the benchmarks' 100-byte values), fails for keys starting with
// "err:", and gives keys starting with "ttl:" an expiry -ttl from now (whole
// milliseconds), which variants without TTLs drop.
// Once listening it prints exactly one line, "LISTEN http://HOST:PORT" (https with TLS),
// to stdout. SIGTERM or SIGINT shuts it down cleanly.
//
// With -tls-cert and -tls-key the listener speaks TLS only (groupcache and admin API) and
// the node's URL is https://; -ca names the PEM CA file peer requests trust (default: the
// system roots). With -token, peer requests carry "Authorization: Bearer TOKEN" and the
// groupcache handler answers 401 to a request without it. The variants have no TLS or
// token options of their own beyond this: the front end hands each one a RoundTripper
// (Config.Transport) and, for TLS, the server's tls.Config.
package front

import (
	"context"
	"crypto/tls"
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
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnsupported is returned by a Peer method its variant has no counterpart for.
var ErrUnsupported = errors.New("unsupported")

// Peer is one variant's group and pool behind the admin API.
type Peer interface {
	// SetPeers replaces the pool's peers with these URLs, in order.
	SetPeers(urls []string) error
	// Owner is the URL owning key on a ring of urls, as the pool builds it; "" if empty.
	Owner(key string, urls []string) string
	Get(ctx context.Context, key string) (value []byte, expire time.Time, err error)
	Set(ctx context.Context, key string, value []byte, expire time.Time) error
	Remove(ctx context.Context, key string) error
	RemoveKeys(ctx context.Context, keys []string) error
	Stats() map[string]int64
}

// Config is what a variant needs to build its Peer.
type Config struct {
	Self     string // this node's URL, http://HOST:PORT or https://HOST:PORT
	Group    string
	Size     int64
	Base     string
	Replicas int
	// Load is the getter: it counts the call and returns the value and its expiry.
	Load func(key string) (value []byte, expire time.Time, err error)
	// ServerTLS is the listener's TLS (Self is https://), nil without -tls-cert.
	ServerTLS *tls.Config
	// Transport is the RoundTripper for requests to peers, nil (the variant's default)
	// without -ca or -token.
	Transport http.RoundTripper
}

// Variant names a groupcache module and how to make a Peer of it; the Handler serves
// the groupcache protocol and is mounted at Config.Base.
type Variant struct {
	Name   string
	Module string
	New    func(Config) (Peer, http.Handler, error)
}

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
	variant Variant
	peer    Peer
	loads   *loadCounter

	mu    sync.Mutex // protects peers
	peers []string   // as last passed to SetPeers, in order
}

func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/admin/peers":
		a.post(w, r, func(body []byte) error { return a.setPeers(splitNonEmpty(string(body), "\n")) })
	case "/admin/loads":
		writeJSON(w, a.loads.snapshot())
	case "/admin/get":
		a.get(w, r, q)
	case "/admin/owner":
		a.owner(w, q)
	case "/admin/stats":
		writeJSON(w, a.peer.Stats())
	case "/admin/set":
		a.post(w, r, func(body []byte) error {
			ns, err := strconv.ParseInt(q.Get("expire"), 10, 64)
			if err != nil && q.Get("expire") != "" {
				return fmt.Errorf("bad expire: %w", err)
			}
			var expire time.Time
			if ns != 0 {
				expire = time.Unix(0, ns)
			}
			return a.peer.Set(r.Context(), q.Get("key"), body, expire)
		})
	case "/admin/remove":
		a.post(w, r, func([]byte) error { return a.peer.Remove(r.Context(), q.Get("key")) })
	case "/admin/remove-keys":
		a.post(w, r, func(body []byte) error {
			var keys []string
			if err := json.Unmarshal(body, &keys); err != nil {
				return fmt.Errorf("bad key list: %w", err)
			}
			return a.peer.RemoveKeys(r.Context(), keys)
		})
	case "/admin/variant":
		writeJSON(w, map[string]string{
			"variant": a.variant.Name,
			"module":  a.variant.Module,
			"version": moduleVersion(a.variant.Module),
			"go":      runtime.Version(),
		})
	default:
		http.NotFound(w, r)
	}
}

func (a *admin) setPeers(peers []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.peer.SetPeers(peers); err != nil {
		return err
	}
	a.peers = peers
	return nil
}

// post runs do with the request body: 200 "ok", 501 for ErrUnsupported, else 500.
func (a *admin) post(w http.ResponseWriter, r *http.Request, do func(body []byte) error) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = do(body)
	}
	switch {
	case errors.Is(err, ErrUnsupported):
		http.Error(w, err.Error(), http.StatusNotImplemented)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	}
}

func (a *admin) get(w http.ResponseWriter, r *http.Request, q map[string][]string) {
	keys, ok := q["key"]
	if !ok {
		http.Error(w, "missing key", http.StatusBadRequest)
		return
	}
	value, expire, err := a.peer.Get(r.Context(), keys[0])
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var ns int64
	if !expire.IsZero() {
		ns = expire.UnixNano()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Expire", strconv.FormatInt(ns, 10))
	w.Write(value)
}

func (a *admin) owner(w http.ResponseWriter, q map[string][]string) {
	keys, ok := q["key"]
	if !ok {
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
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, a.peer.Owner(keys[0], members))
}

// moduleVersion is the version of module linked into this binary, from its build info.
func moduleVersion(module string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == module {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}

func writeJSON(w http.ResponseWriter, v any) {
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

// Main parses the flags, starts the peer, prints LISTEN and serves until SIGTERM/SIGINT.
func Main(v Variant) {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	groupName := flag.String("group", "interop", "groupcache group name")
	size := flag.Int64("size", 1<<20, "group cache size in bytes")
	base := flag.String("base", "/_groupcache/", "groupcache base path (must start and end with /)")
	replicas := flag.Int("replicas", 50, "consistent-hash replicas")
	ttl := flag.Duration("ttl", time.Hour, "expiry of the values of ttl: keys, from now")
	certFile := flag.String("tls-cert", "", "PEM certificate: serve TLS only (with -tls-key)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	caFile := flag.String("ca", "", "PEM CA certificates peer requests trust (default: system roots)")
	token := flag.String("token", "", "bearer token peer requests send and the groupcache handler requires")
	valueBytes := flag.Int("value-bytes", 0, "pad the getter's values with '.' to this many bytes")
	flag.Parse()
	log.SetPrefix(v.Name + ": ")

	if !strings.HasPrefix(*base, "/") || !strings.HasSuffix(*base, "/") || strings.HasPrefix(*base, "/admin/") {
		log.Fatalf("bad -base %q: must start and end with / and not be under /admin/", *base)
	}

	if (*certFile == "") != (*keyFile == "") {
		log.Fatal("-tls-cert and -tls-key go together")
	}
	var serverTLS *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatal(err)
		}
		serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	transport, err := peerTransport(*caFile, *token)
	if err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	self := "http://" + ln.Addr().String()
	if serverTLS != nil {
		self = "https://" + ln.Addr().String()
	}

	loads := &loadCounter{calls: make(map[string]int)}
	load := func(key string) ([]byte, time.Time, error) {
		loads.add(key)
		if strings.HasPrefix(key, "err:") {
			return nil, time.Time{}, errors.New("go getter failed: " + key)
		}
		var expire time.Time
		if strings.HasPrefix(key, "ttl:") {
			expire = time.UnixMilli(time.Now().Add(*ttl).UnixMilli())
		}
		value := []byte("go:" + key)
		if pad := *valueBytes - len(value); pad > 0 {
			value = append(value, strings.Repeat(".", pad)...)
		}
		return value, expire, nil
	}
	peer, handler, err := v.New(Config{
		Self: self, Group: *groupName, Size: *size, Base: *base, Replicas: *replicas, Load: load,
		ServerTLS: serverTLS, Transport: transport,
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	if *token != "" {
		handler = requireBearer("Bearer "+*token, handler)
	}
	mux.Handle(*base, handler)
	mux.Handle("/admin/", &admin{variant: v, peer: peer, loads: loads})
	srv := &http.Server{Handler: mux, TLSConfig: serverTLS}

	// Before the LISTEN line: a SIGTERM sent as soon as the line is read must find the
	// handler installed (under load it once arrived first and killed the process).
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	serveErr := make(chan error, 1)
	go func() {
		if serverTLS != nil {
			serveErr <- srv.ServeTLS(ln, "", "") // the certificate is in srv.TLSConfig
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()

	if _, err := fmt.Fprintf(os.Stdout, "LISTEN %s\n", self); err != nil {
		log.Fatal(err)
	}

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
