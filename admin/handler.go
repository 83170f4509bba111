// Package admin is tokengate's admin API: users, tokens and brute-force
// blocks under /tokengate/, as a plain net/http handler over auth. The
// caddymodule package mounts it on Caddy's admin endpoint; errors are
// written as that endpoint writes its own, {"error": message}.
//
// Trust boundary: whatever serves this handler is the only thing guarding
// it. On Caddy's admin endpoint that is, by default, localhost:2019 or a
// unix socket, and anyone who can reach it can create users, reset
// passwords and mint tokens for any user, as they can already replace
// Caddy's whole config. Keep it on loopback or a unix socket with
// restricted permissions, or protect it with Caddy's remote admin (mutual
// TLS) and its access control; never expose it to clients of the gated
// sites.
package admin

import (
	"errors"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/tokengate/tokengate/auth"
)

// Prefix is the path every route is under.
const Prefix = "/tokengate/"

const (
	// maxBody bounds request bodies.
	maxBody = 64 << 10
	// createdBy is the created_by of users and reset tokens made through
	// the API.
	createdBy = "admin-api"
	// defaultTTL is the lifetime of a temporary token when the request
	// names none.
	defaultTTL = time.Hour
)

var (
	// ErrNotConfigured: the running config has no tokengate app (404).
	ErrNotConfigured = errors.New("tokengate is not configured")
	// ErrNotStarted: the app is configured but its service is not up yet,
	// or no longer (503).
	ErrNotStarted = errors.New("tokengate is not started")
)

// Settings is what the handler needs of the running config besides the
// service.
type Settings struct {
	// ResetLink builds the link a password-reset token is sent in.
	// Required.
	ResetLink func(token string) string
	// ResetTTL is how long a password-reset token stays valid.
	ResetTTL time.Duration
}

// Handler serves the admin API. It is safe for concurrent use.
type Handler struct {
	// Service returns the running service and its settings, or an error
	// wrapping ErrNotConfigured or ErrNotStarted. It is called for every
	// request, so that the handler follows config reloads.
	Service func() (*auth.Service, Settings, error)
	// ParseDuration reads the ttl of a temporary token. Caddy's, which
	// knows days ("2d"), keeps the CLI's --ttl spelled as Caddy's config.
	// Default: time.ParseDuration.
	ParseDuration func(string) (time.Duration, error)
	// Logger receives failures of the server (5xx) at ERROR and refused
	// requests (4xx) at DEBUG. Nil logs nothing.
	Logger *zap.Logger
}

// request is one request being served.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	svc *auth.Service
	set Settings
	h   *Handler
}

// ServeHTTP routes a request under Prefix. Path segments are unescaped one
// by one, so a user id may contain any character, '/' included, as %2F.
// Unknown paths and methods are answered before the service is looked
// for.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.fail(w, r, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	fn, args, err := lookup(w, r)
	if err != nil {
		return err
	}
	svc, set, err := h.Service()
	switch {
	case errors.Is(err, ErrNotConfigured):
		return errorf(http.StatusNotFound, err, "%v", ErrNotConfigured)
	case errors.Is(err, ErrNotStarted):
		return errorf(http.StatusServiceUnavailable, err, "%v", ErrNotStarted)
	case err != nil:
		return errorf(http.StatusInternalServerError, err, "finding tokengate: %v", err)
	case svc == nil:
		return errorf(http.StatusServiceUnavailable, nil, "%v", ErrNotStarted)
	}
	// The admin is known only by its address: the audit trail's actor of
	// every change made here.
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	r = r.WithContext(auth.WithActor(r.Context(), auth.Actor{ID: auth.ActorAdmin, Addr: r.RemoteAddr, ClientIP: host}))
	return fn(&request{w: w, r: r, svc: svc, set: set, h: h}, args)
}

// Interface guards
var _ http.Handler = (*Handler)(nil)
