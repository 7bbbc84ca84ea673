package front

// TLS and the bearer token: what -tls-cert, -tls-key, -ca and -token give a variant.

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// TransportFunc is Transport in the form golang's and the v2 variants' pools take.
func (c Config) TransportFunc() func(context.Context) http.RoundTripper {
	if c.Transport == nil {
		return nil
	}
	return func(context.Context) http.RoundTripper { return c.Transport }
}

// Scheme is the scheme of Self: "http" or "https".
func (c Config) Scheme() string {
	scheme, _, _ := strings.Cut(c.Self, "://")
	return scheme
}

// bearer adds an Authorization header to every request it sends.
type bearer struct {
	header string
	next   http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not modify the caller's request
	r.Header.Set("Authorization", b.header)
	return b.next.RoundTrip(r)
}

// requireBearer answers 401 to a request without the Authorization header.
func requireBearer(header string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte(header)) != 1 {
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// peerTransport is the RoundTripper for peer requests: trusting caFile if given, adding
// the token if given; nil if neither.
func peerTransport(caFile, token string) (http.RoundTripper, error) {
	if caFile == "" && token == "" {
		return nil, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in -ca %s", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	if token == "" {
		return tr, nil
	}
	return &bearer{header: "Bearer " + token, next: tr}, nil
}
