package caddymodule

// The admin API manages tokengate's users and tokens through Caddy's admin
// endpoint, under /tokengate/.
//
// Trust boundary: Caddy's admin endpoint is the only thing guarding these
// routes. By default it listens on localhost:2019 or a unix socket, and
// anyone who can reach it can create users, reset passwords and mint
// tokens for any user, as they can already replace Caddy's whole config.
// Keep it on loopback or a unix socket with restricted permissions, or
// protect it with Caddy's remote admin (mutual TLS) and its access
// control; never expose it to clients of the gated sites.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/tokengate/tokengate/api/onezone"
	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/internal/httpx"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI is the admin.api.tokengate module. It is stateless: each
// request finds the running tokengate app anew, so that it follows config
// reloads.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.tokengate",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes.
func (a adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: adminPrefix, Handler: caddy.AdminHandlerFunc(a.serve)}}
}

const (
	adminPrefix = "/tokengate/"
	// adminMaxBody bounds request bodies.
	adminMaxBody = 64 << 10
	// adminCreatedBy is the created_by of users made through the API.
	adminCreatedBy = "admin-api"
	// defaultAdminTTL is the lifetime of a temporary token when the
	// request names none.
	defaultAdminTTL = time.Hour
)

// adminRequest is one request being served.
type adminRequest struct {
	w   http.ResponseWriter
	r   *http.Request
	svc *auth.Service
	app *App
}

type adminHandler func(*adminRequest, []string) error

// adminRoute maps methods to handlers for one path shape.
type adminRoute map[string]adminHandler

// serve routes a request. Path segments are unescaped one by one, so a
// user id may contain any character, '/' included, as %2F.
func (a adminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	segs, err := adminSegments(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	rt, args := matchAdminRoute(segs)
	if rt == nil {
		return apiError(http.StatusNotFound, nil, "resource not found: %s", r.URL.Path)
	}
	h, ok := rt[r.Method]
	if !ok {
		allow := make([]string, 0, len(rt))
		for m := range rt {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return apiError(http.StatusMethodNotAllowed, nil, "method %s not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, strings.Join(allow, ", "))
	}
	app, err := adminApp()
	if err != nil {
		return err
	}
	return h(&adminRequest{w: w, r: r, svc: app.service(), app: app}, args)
}

// adminService finds the running tokengate app. It may have been set up
// by the config or loaded on demand by a handler; either way it is among
// the active config's apps.
func adminApp() (*App, error) {
	v, err := caddy.ActiveContext().AppIfConfigured("tokengate")
	if err != nil {
		return nil, apiError(http.StatusNotFound, err, "tokengate is not configured")
	}
	app, ok := v.(*App)
	if !ok || app.service() == nil {
		return nil, apiError(http.StatusNotFound, nil, "tokengate is not configured")
	}
	return app, nil
}

// adminSegments splits the escaped path after the prefix into unescaped
// segments, dropping one trailing slash.
func adminSegments(escaped string) ([]string, error) {
	rest, ok := strings.CutPrefix(escaped, adminPrefix)
	if !ok {
		return nil, apiError(http.StatusNotFound, nil, "resource not found: %s", escaped)
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return nil, nil
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, apiError(http.StatusNotFound, err, "resource not found: %s", escaped)
		}
		segs[i] = u
	}
	return segs, nil
}

var (
	routeUsers = adminRoute{
		http.MethodGet:  (*adminRequest).listUsers,
		http.MethodPost: (*adminRequest).createUser,
	}
	routeUser = adminRoute{
		http.MethodGet:    (*adminRequest).getUser,
		http.MethodPatch:  (*adminRequest).patchUser,
		http.MethodDelete: (*adminRequest).deleteUser,
	}
	routeBlock     = adminRoute{http.MethodPost: (*adminRequest).blockUser}
	routeReset     = adminRoute{http.MethodPost: (*adminRequest).issueReset}
	routeBans      = adminRoute{http.MethodGet: (*adminRequest).listBans}
	routeBan       = adminRoute{http.MethodDelete: (*adminRequest).liftBan}
	routeUnblock   = adminRoute{http.MethodPost: (*adminRequest).unblockUser}
	routeTemporary = adminRoute{
		http.MethodGet:    (*adminRequest).getGeneration,
		http.MethodPost:   (*adminRequest).issueTemporary,
		http.MethodDelete: (*adminRequest).revokeTemporary,
	}
	routeNamedList = adminRoute{
		http.MethodGet:  (*adminRequest).listNamed,
		http.MethodPost: (*adminRequest).createNamed,
	}
	routeNamed = adminRoute{
		http.MethodGet:    (*adminRequest).getNamed,
		http.MethodPatch:  (*adminRequest).patchNamed,
		http.MethodDelete: (*adminRequest).deleteNamed,
	}
)

// matchAdminRoute returns the route for the segments after /tokengate/
// and its arguments (user id, token id), or nil.
func matchAdminRoute(segs []string) (adminRoute, []string) {
	if len(segs) > 0 && segs[0] == "bans" {
		switch len(segs) {
		case 1:
			return routeBans, nil
		case 2:
			return routeBan, segs[1:]
		}
		return nil, nil
	}
	if len(segs) == 0 || segs[0] != "users" {
		return nil, nil
	}
	switch n := len(segs); {
	case n == 3 && segs[2] == "reset-token":
		return routeReset, segs[1:2]
	case n == 1:
		return routeUsers, nil
	case n == 2:
		return routeUser, segs[1:]
	case n == 3 && segs[2] == "block":
		return routeBlock, segs[1:2]
	case n == 3 && segs[2] == "unblock":
		return routeUnblock, segs[1:2]
	case n >= 4 && segs[2] == "tokens":
		switch {
		case n == 4 && segs[3] == "temporary":
			return routeTemporary, segs[1:2]
		case n == 4 && segs[3] == "named":
			return routeNamedList, segs[1:2]
		case n == 5 && segs[3] == "named":
			return routeNamed, []string{segs[1], segs[4]}
		}
	}
	return nil, nil
}

// apiError builds the error Caddy writes as {"error": message}.
func apiError(status int, err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if err == nil {
		err = errors.New(msg)
	}
	return caddy.APIError{HTTPStatus: status, Err: err, Message: msg}
}

// storeError maps a failure of the auth service; what names the thing
// the request is about, as in "user \"bob\"".
func storeError(err error, what string) error {
	var ce *tokens.CaveatError
	var ve *auth.ValueError
	var pe *auth.PolicyError
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return apiError(http.StatusNotFound, err, "%s not found", what)
	case errors.Is(err, auth.ErrExists):
		return apiError(http.StatusConflict, err, "%s: name already taken", what)
	case errors.Is(err, auth.ErrConfigManaged):
		return apiError(http.StatusConflict, err,
			"%s is managed by the Caddy config; change it there (the tokengate users in the Caddyfile or JSON config) and reload", what)
	case errors.Is(err, auth.ErrUserBlocked):
		return apiError(http.StatusConflict, err, "%s is blocked; unblock it before issuing tokens", what)
	case errors.As(err, &ve):
		return apiError(http.StatusBadRequest, err, "%s", ve.Error())
	case errors.As(err, &pe):
		return apiError(http.StatusBadRequest, err, "password too weak: %s", strings.Join(pe.Reasons, " "))
	case errors.Is(err, auth.ErrNoPassword):
		return apiError(http.StatusBadRequest, err, "password must not be empty")
	case errors.Is(err, auth.ErrCanceled):
		return apiError(httpx.StatusClientClosedRequest, err, "request canceled")
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, store.ErrUnavailable):
		return apiError(http.StatusServiceUnavailable, err, "tokengate's store is unavailable; try again later")
	case errors.As(err, &ce):
		return apiError(http.StatusBadRequest, err, "invalid caveat %s: %s", ce.Caveat, ce.Reason)
	case errors.Is(err, tokens.ErrTimeCaveatRequired), errors.Is(err, tokens.ErrBadType),
		errors.Is(err, tokens.ErrBadData), errors.Is(err, tokens.ErrBadCaveat):
		return apiError(http.StatusBadRequest, err, "%v", err)
	}
	return apiError(http.StatusInternalServerError, err, "%s: %v", what, err)
}

// decode reads a JSON body into v, refusing unknown fields, trailing data,
// bodies over adminMaxBody and content types other than JSON. An empty
// body counts as {}.
func (ar *adminRequest) decode(v any) error {
	body, err := httpx.ReadBody(ar.r, adminMaxBody)
	switch {
	case errors.Is(err, httpx.ErrTooLarge):
		return apiError(http.StatusRequestEntityTooLarge, err, "request body exceeds %d bytes", adminMaxBody)
	case err != nil:
		return apiError(http.StatusBadRequest, err, "reading request body: %v", err)
	}
	return decodeJSON(ar.r.Header.Get("Content-Type"), body, v)
}

func decodeJSON(contentType string, body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	} else if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/json" {
		return apiError(http.StatusUnsupportedMediaType, nil, "request body must be sent as application/json, not %q", contentType)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return apiError(http.StatusBadRequest, err, "invalid request body: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return apiError(http.StatusBadRequest, nil, "invalid request body: data after the JSON object")
	}
	return nil
}

func (ar *adminRequest) reply(status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return apiError(http.StatusInternalServerError, err, "encoding response: %v", err)
	}
	h := ar.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	ar.w.WriteHeader(status)
	_, _ = ar.w.Write(append(b, '\n'))
	return nil
}

func (ar *adminRequest) noContent() error {
	ar.w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminUser is a user as the API shows it: never the password hash.
type adminUser struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	Role          string    `json:"role"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	ConfigManaged bool      `json:"config_managed"`
	Blocked       bool      `json:"blocked"`
	// Set only when a user is created without a password: the welcome
	// link with which it sets one.
	ResetToken string `json:"reset_token,omitempty"`
	ResetLink  string `json:"reset_link,omitempty"`
}

func newAdminUser(u store.User) adminUser {
	username := u.Username
	if username == "" {
		username = u.ID
	}
	return adminUser{
		ID: u.ID, Username: username, Name: u.Name, Email: u.Email, Role: u.Role,
		CreatedBy: u.CreatedBy, CreatedAt: u.CreatedAt,
		ConfigManaged: u.ConfigManaged, Blocked: u.Blocked,
	}
}

// GET /tokengate/users
func (ar *adminRequest) listUsers(_ []string) error {
	users, err := ar.svc.Users(ar.r.Context())
	if err != nil {
		return storeError(err, "users")
	}
	out := make([]adminUser, len(users))
	for i, u := range users {
		out[i] = newAdminUser(u)
	}
	return ar.reply(http.StatusOK, out)
}

type userCreate struct {
	ID           string  `json:"id"`
	Username     *string `json:"username"`
	Password     *string `json:"password"`
	PasswordHash *string `json:"password_hash"`
	Name         string  `json:"name"`
	Email        string  `json:"email"`
	Role         string  `json:"role"`
}

// POST /tokengate/users
func (ar *adminRequest) createUser(_ []string) error {
	var req userCreate
	if err := ar.decode(&req); err != nil {
		return err
	}
	nu := auth.NewUser{
		ID: req.ID, Profile: auth.Profile{Name: req.Name, Email: req.Email, Role: req.Role},
		Password:  auth.Password{Plain: req.Password, Hash: req.PasswordHash},
		CreatedBy: adminCreatedBy,
	}
	if req.Username != nil {
		if *req.Username == "" {
			return storeError(&auth.ValueError{Field: "username", Rule: "is required"}, "username")
		}
		nu.Username = *req.Username
	}
	ctx := ar.r.Context()
	u, err := ar.svc.CreateUser(ctx, nu)
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", req.ID))
	}
	view := newAdminUser(u)
	if req.Password == nil && req.PasswordHash == nil {
		// No password: a welcome link lets the user set one.
		if view.ResetToken, err = ar.svc.IssueReset(ctx, u.ID, adminCreatedBy, time.Duration(ar.app.ResetTokenTTL)); err != nil {
			return storeError(err, fmt.Sprintf("user %q", u.ID))
		}
		view.ResetLink = ar.app.ResetLink(view.ResetToken)
	}
	ar.w.Header().Set("Location", adminPrefix+"users/"+url.PathEscape(u.ID))
	return ar.reply(http.StatusCreated, view)
}

// user reads one user for a request.
func (ar *adminRequest) user(id string) (store.User, error) {
	u, err := ar.svc.User(ar.r.Context(), id)
	if err != nil {
		return u, storeError(err, fmt.Sprintf("user %q", id))
	}
	return u, nil
}

// GET /tokengate/users/{id}
func (ar *adminRequest) getUser(args []string) error {
	u, err := ar.user(args[0])
	if err != nil {
		return err
	}
	return ar.reply(http.StatusOK, newAdminUser(u))
}

type userPatch struct {
	Username     *string `json:"username"`
	Password     *string `json:"password"`
	PasswordHash *string `json:"password_hash"`
	Name         *string `json:"name"`
	Email        *string `json:"email"`
	Role         *string `json:"role"`
}

// PATCH /tokengate/users/{id}
func (ar *adminRequest) patchUser(args []string) error {
	id := args[0]
	var req userPatch
	if err := ar.decode(&req); err != nil {
		return err
	}
	upd := auth.UserUpdate{Username: req.Username, Name: req.Name, Email: req.Email, Role: req.Role,
		Password: auth.Password{Plain: req.Password, Hash: req.PasswordHash}}
	if upd.Empty() {
		if _, err := ar.user(id); err != nil {
			return err
		}
		return apiError(http.StatusBadRequest, nil,
			"nothing to change: give at least one of username, password, password_hash, name, email, role")
	}
	u, err := ar.svc.UpdateUser(ar.r.Context(), id, upd)
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", id))
	}
	return ar.reply(http.StatusOK, newAdminUser(u))
}

// DELETE /tokengate/users/{id}: the user, its named tokens and (by the
// generation bump) its temporary tokens.
func (ar *adminRequest) deleteUser(args []string) error {
	if err := ar.svc.DeleteUser(ar.r.Context(), args[0]); err != nil {
		return storeError(err, fmt.Sprintf("user %q", args[0]))
	}
	return ar.noContent()
}

// POST /tokengate/users/{id}/block
func (ar *adminRequest) blockUser(args []string) error { return ar.setBlocked(args[0], true) }

// POST /tokengate/users/{id}/unblock
func (ar *adminRequest) unblockUser(args []string) error { return ar.setBlocked(args[0], false) }

func (ar *adminRequest) setBlocked(id string, blocked bool) error {
	if err := ar.decode(&struct{}{}); err != nil {
		return err
	}
	u, err := ar.svc.SetBlocked(ar.r.Context(), id, blocked)
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", id))
	}
	return ar.reply(http.StatusOK, newAdminUser(u))
}

// GET /tokengate/users/{id}/tokens/temporary
func (ar *adminRequest) getGeneration(args []string) error {
	gen, err := ar.svc.Generation(ar.r.Context(), args[0])
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", args[0]))
	}
	return ar.reply(http.StatusOK, map[string]uint64{"generation": gen})
}

// DELETE /tokengate/users/{id}/tokens/temporary
func (ar *adminRequest) revokeTemporary(args []string) error {
	gen, err := ar.svc.RevokeTemporary(ar.r.Context(), args[0])
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", args[0]))
	}
	return ar.reply(http.StatusOK, map[string]uint64{"generation": gen})
}

type temporaryRequest struct {
	TTL     string          `json:"ttl"`
	Caveats json.RawMessage `json:"caveats"`
}

// parseTTL returns the lifetime a request asks for: default 1h (or limit,
// if shorter), at most limit.
func parseTTL(s string, limit time.Duration) (time.Duration, error) {
	if s == "" {
		return min(defaultAdminTTL, limit), nil
	}
	d, err := caddy.ParseDuration(s)
	switch {
	case err != nil:
		return 0, apiError(http.StatusBadRequest, err, "invalid ttl %q: %v", s, err)
	case d <= 0:
		return 0, apiError(http.StatusBadRequest, nil, "ttl must be positive")
	case d > limit:
		return 0, apiError(http.StatusBadRequest, nil, "ttl %s exceeds temporary_max_ttl %s", d, limit)
	}
	return d, nil
}

// parseAdminCaveats decodes optional caveats in Onezone's form.
func parseAdminCaveats(raw json.RawMessage) ([]tokens.Caveat, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	c, err := tokens.ParseCaveats(raw)
	if err != nil {
		return nil, storeError(err, "caveats")
	}
	return c, nil
}

// POST /tokengate/users/{id}/tokens/temporary {"ttl"?, "caveats"?}
func (ar *adminRequest) issueTemporary(args []string) error {
	id := args[0]
	var req temporaryRequest
	if err := ar.decode(&req); err != nil {
		return err
	}
	ttl, err := parseTTL(req.TTL, ar.svc.MaxTemporaryTTL())
	if err != nil {
		return err
	}
	caveats, err := parseAdminCaveats(req.Caveats)
	if err != nil {
		return err
	}
	until := ar.svc.Now().Add(ttl).Unix()
	caveats = append(caveats, tokens.Caveat{Type: tokens.CaveatTime, ValidUntil: until})
	tok, err := ar.svc.IssueTemporary(ar.r.Context(), id, tokens.Access, caveats)
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", id))
	}
	return ar.reply(http.StatusCreated, map[string]string{"token": tok})
}

// GET /tokengate/users/{id}/tokens/named
func (ar *adminRequest) listNamed(args []string) error {
	id := args[0]
	if _, err := ar.user(id); err != nil {
		return err
	}
	list, err := ar.svc.NamedTokens(ar.r.Context(), id)
	if err != nil {
		return storeError(err, fmt.Sprintf("named tokens of user %q", id))
	}
	out := make([]map[string]any, len(list))
	for i, t := range list {
		out[i] = onezone.NamedRecord(t)
	}
	return ar.reply(http.StatusOK, out)
}

// namedError maps a failed named-token operation: a taken name says so.
func namedError(err error, id, name, what string) error {
	if errors.Is(err, auth.ErrExists) {
		return apiError(http.StatusConflict, err, "user %q already has a named token called %q", id, name)
	}
	return storeError(err, what)
}

type namedCreate struct {
	Name    *string         `json:"name"`
	Caveats json.RawMessage `json:"caveats"`
}

// POST /tokengate/users/{id}/tokens/named {"name", "caveats"?}
func (ar *adminRequest) createNamed(args []string) error {
	id := args[0]
	var req namedCreate
	if err := ar.decode(&req); err != nil {
		return err
	}
	if req.Name == nil {
		return apiError(http.StatusBadRequest, nil, "name is required")
	}
	caveats, err := parseAdminCaveats(req.Caveats)
	if err != nil {
		return err
	}
	if _, err := ar.user(id); err != nil {
		return err
	}
	rec, tok, err := ar.svc.IssueNamed(ar.r.Context(), id, *req.Name, tokens.Access, caveats)
	if err != nil {
		return namedError(err, id, *req.Name, fmt.Sprintf("user %q", id))
	}
	ar.w.Header().Set("Location", adminPrefix+"users/"+url.PathEscape(id)+"/tokens/named/"+url.PathEscape(rec.ID))
	return ar.reply(http.StatusCreated, map[string]string{"tokenId": rec.ID, "token": tok})
}

// named reads one named token for a request.
func (ar *adminRequest) named(id, tid string) (store.NamedToken, error) {
	if _, err := ar.user(id); err != nil {
		return store.NamedToken{}, err
	}
	t, err := ar.svc.NamedToken(ar.r.Context(), id, tid)
	if err != nil {
		return t, storeError(err, fmt.Sprintf("named token %q of user %q", tid, id))
	}
	return t, nil
}

// GET /tokengate/users/{id}/tokens/named/{tid}
func (ar *adminRequest) getNamed(args []string) error {
	t, err := ar.named(args[0], args[1])
	if err != nil {
		return err
	}
	return ar.reply(http.StatusOK, onezone.NamedRecord(t))
}

type namedPatch struct {
	Name    *string `json:"name"`
	Revoked *bool   `json:"revoked"`
}

// PATCH /tokengate/users/{id}/tokens/named/{tid} {"name"?, "revoked"?}
func (ar *adminRequest) patchNamed(args []string) error {
	id, tid := args[0], args[1]
	var req namedPatch
	if err := ar.decode(&req); err != nil {
		return err
	}
	if req.Name == nil && req.Revoked == nil {
		return apiError(http.StatusBadRequest, nil, "nothing to change: give name or revoked")
	}
	if _, err := ar.named(id, tid); err != nil {
		return err
	}
	u := store.NamedUpdate{Name: req.Name, Revoked: req.Revoked}
	if err := ar.svc.UpdateNamed(ar.r.Context(), id, tid, u); err != nil {
		return namedError(err, id, deref(req.Name), fmt.Sprintf("named token %q of user %q", tid, id))
	}
	t, err := ar.named(id, tid)
	if err != nil {
		return err
	}
	return ar.reply(http.StatusOK, onezone.NamedRecord(t))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// DELETE /tokengate/users/{id}/tokens/named/{tid}
func (ar *adminRequest) deleteNamed(args []string) error {
	id, tid := args[0], args[1]
	if _, err := ar.user(id); err != nil {
		return err
	}
	if err := ar.svc.DeleteNamed(ar.r.Context(), id, tid); err != nil {
		return storeError(err, fmt.Sprintf("named token %q of user %q", tid, id))
	}
	return ar.noContent()
}

// Interface guards
var (
	_ caddy.Module      = adminAPI{}
	_ caddy.AdminRouter = adminAPI{}
)

// POST /tokengate/users/{id}/reset-token → 201 {"token","link","expires_at"}:
// a password-reset token for the user, superseding older ones.
func (ar *adminRequest) issueReset(args []string) error {
	ttl := time.Duration(ar.app.ResetTokenTTL)
	tok, err := ar.svc.IssueReset(ar.r.Context(), args[0], adminCreatedBy, ttl)
	if err != nil {
		return storeError(err, fmt.Sprintf("user %q", args[0]))
	}
	return ar.reply(http.StatusCreated, map[string]any{
		"token": tok, "link": ar.app.ResetLink(tok), "expires_at": time.Now().Add(ttl).UTC(),
	})
}

// GET /tokengate/bans → the clients and users past their brute-force budget.
func (ar *adminRequest) listBans(_ []string) error {
	bans, err := ar.svc.Bans(ar.r.Context())
	if err != nil {
		return storeError(err, "bans")
	}
	if bans == nil {
		bans = []store.Counter{}
	}
	return ar.reply(http.StatusOK, bans)
}

// DELETE /tokengate/bans/{key} → 204: forget the failures of "ip:<addr>"
// or "user:<id>".
func (ar *adminRequest) liftBan(args []string) error {
	key := args[0]
	if !strings.HasPrefix(key, "ip:") && !strings.HasPrefix(key, "user:") {
		return apiError(http.StatusBadRequest, nil, "ban key must be ip:<address> or user:<id>")
	}
	if err := ar.svc.LiftBan(ar.r.Context(), key); err != nil {
		return storeError(err, "ban")
	}
	return ar.noContent()
}
