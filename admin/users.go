package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
)

// User is a user as the API shows it: never the password hash.
type User struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	Role          string    `json:"role"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	ConfigManaged bool      `json:"config_managed"`
	// Orphaned: config-managed, but the config no longer declares it. It
	// cannot authenticate; declaring it again restores it, deleting it
	// removes it for good.
	Orphaned bool `json:"orphaned"`
	Blocked  bool `json:"blocked"`
	// Set only when a user is created without a password: the welcome
	// link with which it sets one.
	ResetToken string `json:"reset_token,omitempty"`
	ResetLink  string `json:"reset_link,omitempty"`
}

func newUser(u store.User) User {
	username := u.Username
	if username == "" {
		username = u.ID
	}
	return User{
		ID: u.ID, Username: username, Name: u.Name, Email: u.Email, Role: u.Role,
		CreatedBy: u.CreatedBy, CreatedAt: u.CreatedAt,
		ConfigManaged: u.ConfigManaged, Orphaned: u.Orphaned, Blocked: u.Blocked,
	}
}

func userWhat(id string) string { return fmt.Sprintf("user %q", id) }

// GET /tokengate/users
func (rq *request) listUsers(_ []string) error {
	users, err := rq.svc.Users(rq.r.Context())
	if err != nil {
		return serviceError(err, "users")
	}
	out := make([]User, len(users))
	for i, u := range users {
		out[i] = newUser(u)
	}
	return rq.reply(http.StatusOK, out)
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

// POST /tokengate/users → 201 with the user and, if it has no password,
// the welcome link with which it sets one.
func (rq *request) createUser(_ []string) error {
	var req userCreate
	if err := rq.decode(&req); err != nil {
		return err
	}
	nu := auth.NewUser{
		ID: req.ID, Profile: auth.Profile{Name: req.Name, Email: req.Email, Role: req.Role},
		Password:  auth.Password{Plain: req.Password, Hash: req.PasswordHash},
		CreatedBy: createdBy,
	}
	if req.Username != nil {
		// auth reads an empty username as "the id"; an explicit "" is a
		// mistake.
		if *req.Username == "" {
			return serviceError(&auth.ValueError{Field: "username", Rule: "is required"}, "username")
		}
		nu.Username = *req.Username
	}
	ctx := rq.r.Context()
	u, err := rq.svc.CreateUser(ctx, nu)
	if err != nil {
		username := nu.Username
		if username == "" {
			username = req.ID
		}
		return rq.taken(err, req.ID, username, true)
	}
	view := newUser(u)
	if req.Password == nil && req.PasswordHash == nil {
		if view.ResetToken, err = rq.svc.IssueReset(ctx, u.ID, createdBy, rq.set.ResetTTL); err != nil {
			return serviceError(err, userWhat(u.ID))
		}
		view.ResetLink = rq.set.ResetLink(view.ResetToken)
	}
	rq.w.Header().Set("Location", Prefix+"users/"+url.PathEscape(u.ID))
	return rq.reply(http.StatusCreated, view)
}

// taken maps the failure of creating (create) or changing user id, and
// says what an ErrExists is about: auth reports a taken id and a taken
// username alike, and the answer names which, and whose username it is.
// Should the users change meanwhile, it says only that a name is taken.
func (rq *request) taken(err error, id, username string, create bool) error {
	if !errors.Is(err, auth.ErrExists) {
		return serviceError(err, userWhat(id))
	}
	ctx := rq.r.Context()
	if _, e := rq.svc.User(ctx, id); create && e == nil {
		return errorf(http.StatusConflict, err, "user %q already exists", id)
	}
	if users, e := rq.svc.Users(ctx); e == nil && username != "" {
		for _, u := range users {
			if u.Username == username && u.ID != id {
				return errorf(http.StatusConflict, err, "username %q is taken by user %q", username, u.ID)
			}
		}
	}
	return serviceError(err, userWhat(id))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// user reads one user for a request.
func (rq *request) user(id string) (store.User, error) {
	u, err := rq.svc.User(rq.r.Context(), id)
	if err != nil {
		return u, serviceError(err, userWhat(id))
	}
	return u, nil
}

// GET /tokengate/users/{id}
func (rq *request) getUser(args []string) error {
	u, err := rq.user(args[0])
	if err != nil {
		return err
	}
	return rq.reply(http.StatusOK, newUser(u))
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
func (rq *request) patchUser(args []string) error {
	id := args[0]
	var req userPatch
	if err := rq.decode(&req); err != nil {
		return err
	}
	upd := auth.UserUpdate{Username: req.Username, Name: req.Name, Email: req.Email, Role: req.Role,
		Password: auth.Password{Plain: req.Password, Hash: req.PasswordHash}}
	if upd.Empty() {
		// An unknown user is the better answer than an empty change.
		if _, err := rq.user(id); err != nil {
			return err
		}
		return errorf(http.StatusBadRequest, nil,
			"nothing to change: give at least one of username, password, password_hash, name, email, role")
	}
	u, err := rq.svc.UpdateUser(rq.r.Context(), id, upd)
	if err != nil {
		return rq.taken(err, id, deref(req.Username), false)
	}
	return rq.reply(http.StatusOK, newUser(u))
}

// DELETE /tokengate/users/{id}: the user, its named tokens and (by the
// generation bump) its temporary tokens.
func (rq *request) deleteUser(args []string) error {
	if err := rq.svc.DeleteUser(rq.r.Context(), args[0]); err != nil {
		return serviceError(err, userWhat(args[0]))
	}
	return rq.noContent()
}

// POST /tokengate/users/{id}/block: every credential of the user is
// refused, and its sessions end for good (see auth.Service.SetBlocked).
func (rq *request) blockUser(args []string) error { return rq.setBlocked(args[0], true) }

// POST /tokengate/users/{id}/unblock
func (rq *request) unblockUser(args []string) error { return rq.setBlocked(args[0], false) }

// POST /tokengate/users/{id}/revoke-everything → 200 {"generation",
// "named_revoked","sessions_ended","reset_revoked"}: every credential
// of the user ends at once (auth.Service.RevokeEverything).
func (rq *request) revokeEverything(args []string) error {
	if err := rq.decode(&struct{}{}); err != nil {
		return err
	}
	out, err := rq.svc.RevokeEverything(rq.r.Context(), args[0])
	if err != nil {
		return serviceError(err, userWhat(args[0]))
	}
	return rq.reply(http.StatusOK, out)
}

func (rq *request) setBlocked(id string, blocked bool) error {
	if err := rq.decode(&struct{}{}); err != nil {
		return err
	}
	u, err := rq.svc.SetBlocked(rq.r.Context(), id, blocked)
	if err != nil {
		return serviceError(err, userWhat(id))
	}
	return rq.reply(http.StatusOK, newUser(u))
}

// POST /tokengate/users/{id}/reset-token → 201 {"token","link","expires_at"}:
// a password-reset token for the user, superseding older ones.
func (rq *request) issueReset(args []string) error {
	ttl := rq.set.ResetTTL
	tok, err := rq.svc.IssueReset(rq.r.Context(), args[0], createdBy, ttl)
	if err != nil {
		return serviceError(err, userWhat(args[0]))
	}
	return rq.reply(http.StatusCreated, map[string]any{
		"token": tok, "link": rq.set.ResetLink(tok), "expires_at": rq.svc.Now().Add(ttl).UTC(),
	})
}
