package integration

// The session cookie behind a TLS-terminating proxy (issue 14, finding
// 1): Secure, and __Host- prefixed, whenever the request came over HTTPS
// as Caddy decides it with trusted_proxies, not only when Caddy itself
// terminated TLS.

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// hostSessionCk is the default session cookie's name on a response to a
// request that came over HTTPS.
const hostSessionCk = "__Host-" + defaultSessionCk

// clientFrom is a client like the harness's whose connections come from
// the loopback address ip (127.0.0.0/8 is all loopback on Linux): a
// client that is not the proxy trusted_proxies names.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// withHdr returns a copy of h with the headers of more added.
func withHdr(h hdr, more hdr) hdr {
	out := hdr{}
	for k, v := range h {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// checkSessionCookie signs alice in on base through client with the
// headers h (the proxy's), and checks that the session cookie is set as
// name with Secure as secure, is found again under that name and no
// other, and that logout clears it under that name.
func checkSessionCookie(t *testing.T, client *http.Client, base string, h hdr, name string, secure bool) {
	t.Helper()
	other := defaultSessionCk
	if name == defaultSessionCk {
		other = hostSessionCk
	}
	tok := decodeHandoff(t, doWith(t, client, http.MethodGet, base+atPath, withHdr(h, hdr{"Authorization": basic("alice", alicePassword)}), nil))
	r := doWith(t, client, http.MethodGet, base+atPath+"/"+tok.Token+"/user", h, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("handoff: got %s, want 200", r)
	}
	ck := respCookie(t, r, name)
	switch {
	case ck == nil:
		t.Fatalf("no Set-Cookie %s; Set-Cookie %q", name, r.Header.Values("Set-Cookie"))
	case ck.Secure != secure:
		t.Errorf("Set-Cookie %q: Secure %v, want %v", ck.Raw, ck.Secure, secure)
	case ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly:
		t.Errorf("Set-Cookie %q: want Path=/, no Domain, HttpOnly", ck.Raw)
	}
	if respCookie(t, r, other) != nil {
		t.Errorf("Set-Cookie %s as well: %q", other, r.Header.Values("Set-Cookie"))
	}

	wantGateUser(t, doWith(t, client, http.MethodGet, base+"/app", withHdr(h, cookieHdr(name, ck.Value)), nil), "alice")
	// Under the other name the value is no session: over HTTPS a cookie
	// without the prefix may come from a plain-HTTP page or a sibling
	// subdomain (session fixation).
	wantError(t, doWith(t, client, http.MethodGet, base+"/app", withHdr(h, cookieHdr(other, ck.Value)), nil),
		http.StatusUnauthorized, "unauthorized")

	r = doWith(t, client, http.MethodPost, base+"/logout", withHdr(h, cookieHdr(name, ck.Value)), nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: got %s, want 204", r)
	}
	wantClearedCookie(t, r, name)
	// A browser drops a __Host- Set-Cookie without Secure: the clearing
	// one must carry it too.
	if cl := respCookie(t, r, name); cl != nil && cl.Secure != secure {
		t.Errorf("clearing Set-Cookie %q: Secure %v, want %v", cl.Raw, cl.Secure, secure)
	}
	wantRefused(t, doWith(t, client, http.MethodGet, base+"/app", withHdr(h, cookieHdr(name, ck.Value)), nil), "tokenSessionInvalid")
}

func TestSessionCookieSecureBehindProxy(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caddyfile{App: []string{"temporary_max_ttl 1h"}, Global: []string{trustLoopbackProxy}})
	// 127.0.0.1 is the trusted proxy; 127.0.0.2 is anyone else.
	untrusted := clientFrom("127.0.0.2")
	for _, tc := range []struct {
		name   string
		client *http.Client
		h      hdr
		secure bool
	}{
		{"trusted proxy, https", c.client, hdr{"X-Forwarded-Proto": "https"}, true},
		{"trusted proxy, http", c.client, hdr{"X-Forwarded-Proto": "http"}, false},
		{"trusted proxy, no header", c.client, hdr{}, false},
		{"untrusted client claims https", untrusted, hdr{"X-Forwarded-Proto": "https"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := defaultSessionCk
			if tc.secure {
				name = hostSessionCk
			}
			checkSessionCookie(t, tc.client, c.site(0), tc.h, name, tc.secure)
		})
	}
}

func TestSessionCookieSecureAlways(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, caddyfile{
		App:   []string{"temporary_max_ttl 1h"},
		Sites: []site{{Gate: []string{"session_cookie_secure always"}}},
	})
	// Plain HTTP, no proxy: the operator says the site is only ever
	// reached over HTTPS.
	checkSessionCookie(t, c.client, c.site(0), hdr{}, hostSessionCk, true)
}
