package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/store"
)

// Password hashes never leave this package: every user record it returns
// has PasswordHash cleared.
func withoutHash(u store.User) store.User {
	u.PasswordHash = ""
	if u.Username == "" {
		u.Username = u.ID
	}
	return u
}

// Users lists every user, ordered by id.
func (s *Service) Users(ctx context.Context) ([]store.User, error) {
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, s.storeErr(err)
	}
	for i := range users {
		users[i] = withoutHash(users[i])
	}
	slices.SortFunc(users, func(a, b store.User) int { return cmp.Compare(a.ID, b.ID) })
	return users, nil
}

// User returns one user; ErrNotFound if there is none.
func (s *Service) User(ctx context.Context, id string) (store.User, error) {
	u, err := s.store.User(ctx, id)
	return withoutHash(u), s.opErr(err)
}

// Password is a new password for a user, in plain text or already hashed
// by `caddy hash-password`; at most one of the two.
type Password struct {
	Plain, Hash *string
}

// hash returns the hash to store, "" if p has none.
func (s *Service) hash(ctx context.Context, p Password) (string, error) {
	switch {
	case p.Plain != nil && p.Hash != nil:
		return "", &ValueError{"password", "and password_hash cannot both be given"}
	case p.Plain != nil:
		return s.HashPassword(ctx, *p.Plain)
	case p.Hash != nil:
		var ce *HashCostError
		switch err := CheckHash(*p.Hash); {
		case errors.As(err, &ce):
			return "", &ValueError{"password_hash", "costs too much to check: " + ce.Detail}
		case err != nil:
			return "", &ValueError{"password_hash", "must be a hash from caddy hash-password: " + err.Error()}
		}
		return *p.Hash, nil
	}
	return "", nil
}

// NewUser is a user to create. Username defaults to the id.
type NewUser struct {
	ID, Username string
	Profile
	Password  Password
	CreatedBy string
}

// CreateUser creates a user that the config does not manage. The id and
// username must be free (ErrExists): nothing is replaced, whichever
// instance sharing the store asked first.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (_ store.User, err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventUserCreated, Target: nu.ID}, "", err) }()
	if nu.Username == "" {
		nu.Username = nu.ID
	}
	if err := checkUser(nu.ID, nu.Username, nu.Profile); err != nil {
		return store.User{}, err
	}
	// Refuse a taken id before spending a second on the hash; the store
	// checks again, atomically with the write.
	if _, err := s.store.User(ctx, nu.ID); err == nil {
		return store.User{}, fmt.Errorf("%w: user %q", ErrExists, nu.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, s.storeErr(err)
	}
	hash, err := s.hash(ctx, nu.Password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{
		ID: nu.ID, Username: nu.Username, PasswordHash: hash,
		Name: nu.Name, Email: nu.Email, Role: nu.Role,
		CreatedBy: nu.CreatedBy, CreatedAt: s.now().UTC(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return store.User{}, s.opErr(err)
	}
	return withoutHash(u), nil
}

func checkUser(id, username string, p Profile) error {
	if err := CheckUserID("id", id); err != nil {
		return err
	}
	if err := CheckUserID("username", username); err != nil {
		return err
	}
	return p.Check()
}

// UserUpdate changes a user; nil fields stay as they are.
type UserUpdate struct {
	Username, Name, Email, Role *string
	Password                    Password
}

// Empty reports whether u changes nothing.
func (u UserUpdate) Empty() bool {
	return u.Username == nil && u.Name == nil && u.Email == nil && u.Role == nil &&
		u.Password.Plain == nil && u.Password.Hash == nil
}

// UpdateUser changes a user that the config does not manage
// (ErrConfigManaged). A new password ends every session and temporary
// token of the user and expires its reset tokens. The audit trail hears
// of a profile change (user_updated, naming the fields) and of a
// password change (password_changed) each as its own event.
func (s *Service) UpdateUser(ctx context.Context, id string, upd UserUpdate) (_ store.User, err error) {
	profile := upd.changed()
	passwordSet := false
	defer func() {
		switch {
		case passwordSet && profile != "":
			// The profile was written before the password was tried,
			// which is password_changed's to report.
			s.emit(ctx, AuditEvent{Event: EventUserUpdated, Target: id, Detail: profile}, "", nil)
		case !passwordSet && profile == "" && err != nil:
			// A change of the password alone is password_changed only,
			// refused too.
			s.emit(ctx, AuditEvent{Event: EventPasswordChanged, Target: id}, "", err)
		case !passwordSet && profile != "":
			s.emit(ctx, AuditEvent{Event: EventUserUpdated, Target: id, Detail: upd.changedAll()}, "", err)
		}
	}()
	for _, f := range [...]struct {
		field string
		v     *string
	}{{"username", upd.Username}} {
		if f.v != nil {
			if err := CheckUserID(f.field, *f.v); err != nil {
				return store.User{}, err
			}
		}
	}
	p := Profile{Name: deref(upd.Name), Email: deref(upd.Email), Role: deref(upd.Role)}
	if err := p.Check(); err != nil {
		return store.User{}, err
	}
	// The rule before the hash: a config-managed user is refused at once.
	if u, err := s.store.User(ctx, id); err != nil {
		return store.User{}, s.opErr(err)
	} else if u.ConfigManaged {
		return store.User{}, fmt.Errorf("%w: %q", ErrConfigManaged, id)
	}
	hash, err := s.hash(ctx, upd.Password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.UpdateUser(ctx, id, func(u *store.User) error {
		if u.ConfigManaged {
			return fmt.Errorf("%w: %q", ErrConfigManaged, id)
		}
		set(&u.Username, upd.Username)
		set(&u.Name, upd.Name)
		set(&u.Email, upd.Email)
		set(&u.Role, upd.Role)
		return nil
	})
	if err != nil {
		return store.User{}, s.opErr(err)
	}
	if hash != "" {
		passwordSet = true
		err := s.setPasswordHash(ctx, id, hash)
		s.emit(ctx, AuditEvent{Event: EventPasswordChanged, Target: id}, "", err)
		if err != nil {
			return store.User{}, err
		}
	}
	return withoutHash(u), nil
}

// changed lists the profile fields u changes, comma-separated: what an
// audit entry says of an update without its values.
func (u UserUpdate) changed() string {
	var out []string
	for _, f := range [...]struct {
		name string
		v    *string
	}{{"username", u.Username}, {"name", u.Name}, {"email", u.Email}, {"role", u.Role}} {
		if f.v != nil {
			out = append(out, f.name)
		}
	}
	return strings.Join(out, ",")
}

// changedAll is changed, with the password if u sets one.
func (u UserUpdate) changedAll() string {
	c := u.changed()
	if u.Password.Plain != nil || u.Password.Hash != nil {
		if c != "" {
			c += ","
		}
		c += "password"
	}
	return c
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func set(dst, src *string) {
	if src != nil {
		*dst = *src
	}
}

// SetBlocked blocks or unblocks a user: a blocked user's tokens, sessions
// and password stop working at once. Blocking also ends all of its
// sessions, as Onezone does (oz-worker destroys a blocked user's
// sessions): once unblocked, its named and temporary tokens work again,
// but its old session cookies answer tokenSessionInvalid.
// Config-managed users can be blocked too: the config does not declare
// blocking, and syncing it keeps the flag.
//
// Two store steps, the block first: the block alone refuses every one of
// the user's credentials on every instance, so nothing is accepted
// between the steps, and no session outlives them (a login racing the
// block ends its own session, see StartSession). If ending the sessions
// fails, the user stays blocked and the call fails: blocking again
// finishes the job.
func (s *Service) SetBlocked(ctx context.Context, id string, blocked bool) (_ store.User, err error) {
	defer func() {
		ev := EventUserUnblocked
		if blocked {
			ev = EventUserBlocked
		}
		s.emit(ctx, AuditEvent{Event: ev, Target: id}, "", err)
	}()
	u, err := s.store.UpdateUser(ctx, id, func(u *store.User) error {
		u.Blocked = blocked
		return nil
	})
	if err != nil || !blocked {
		return withoutHash(u), s.opErr(err)
	}
	if _, err := s.store.DeleteSessions(ctx, id); err != nil {
		return withoutHash(u), s.storeErr(err)
	}
	return withoutHash(u), nil
}

// DeleteUser deletes a user, its named tokens, sessions and reset tokens,
// and (by bumping its generation) its temporary tokens. A user the config
// declares is refused (ErrConfigManaged); one it no longer declares
// (orphaned) can be deleted.
func (s *Service) DeleteUser(ctx context.Context, id string) (err error) {
	defer func() { s.emit(ctx, AuditEvent{Event: EventUserDeleted, Target: id}, "", err) }()
	u, err := s.store.User(ctx, id)
	if err != nil {
		return s.opErr(err)
	}
	if u.ConfigManaged && !u.Orphaned {
		return fmt.Errorf("%w: %q", ErrConfigManaged, id)
	}
	return s.opErr(s.store.DeleteUser(ctx, id))
}

// SyncResult says what SyncUsers changed.
type SyncResult struct {
	Created, Updated, Orphaned []string
}

// errUnchanged aborts an update that would write what is there already.
var errUnchanged = errors.New("unchanged")

// SyncUsers makes the store's config-managed users match the declared
// ones. A config-managed user no longer declared is blocked and marked
// orphaned, never deleted, so that a mistaken config destroys no account;
// declaring it again restores it. Only what changed is written, so that a
// reload does not invalidate caches for nothing.
//
// Each user created, updated or orphaned is an audit event of its own
// (actor: the config), and the whole sync one more, config_synced.
func (s *Service) SyncUsers(ctx context.Context, declared []DeclaredUser) (res SyncResult, err error) {
	defer func() {
		for _, c := range [...]struct {
			event string
			ids   []string
		}{{EventUserCreated, res.Created}, {EventUserUpdated, res.Updated}, {EventUserOrphaned, res.Orphaned}} {
			for _, id := range c.ids {
				s.emit(ctx, AuditEvent{Event: c.event, Target: id, Detail: "declared in the config"}, ActorConfig, nil)
			}
		}
		s.emit(ctx, AuditEvent{Event: EventConfigSynced, Detail: fmt.Sprintf("declared=%d created=%d updated=%d orphaned=%d",
			len(declared), len(res.Created), len(res.Updated), len(res.Orphaned))}, ActorConfig, err)
	}()
	for _, d := range declared {
		if err := d.Check(); err != nil {
			return res, err
		}
	}
	existing, err := s.store.Users(ctx)
	if err != nil {
		return res, s.storeErr(err)
	}
	have := make(map[string]bool, len(existing))
	for _, u := range existing {
		have[u.ID] = true
	}
	want := make(map[string]bool, len(declared))
	for _, d := range declared {
		want[d.ID] = true
		apply := func(u *store.User) {
			u.ID, u.Username, u.PasswordHash = d.ID, d.ID, d.PasswordHash
			u.Name, u.Email, u.Role = d.Name, d.Email, d.Role
			u.ConfigManaged, u.Orphaned = true, false
		}
		if !have[d.ID] {
			u := store.User{CreatedAt: s.now().UTC(), CreatedBy: "config"}
			apply(&u)
			err := s.store.CreateUser(ctx, u)
			if err == nil {
				res.Created = append(res.Created, d.ID)
				continue
			}
			if _, gone := s.store.User(ctx, d.ID); !errors.Is(err, store.ErrExists) || gone != nil {
				return res, s.syncErr(d.ID, err)
			}
			// Another instance sharing the store created it meanwhile.
		}
		_, err := s.store.UpdateUser(ctx, d.ID, func(u *store.User) error {
			before := *u
			apply(u)
			if *u == before {
				return errUnchanged
			}
			return nil
		})
		switch {
		case err == nil:
			res.Updated = append(res.Updated, d.ID)
		case !errors.Is(err, errUnchanged):
			return res, s.syncErr(d.ID, err)
		}
	}
	for _, u := range existing {
		if !u.ConfigManaged || u.Orphaned || want[u.ID] {
			continue
		}
		_, err := s.store.UpdateUser(ctx, u.ID, func(u *store.User) error {
			if !u.ConfigManaged || u.Orphaned {
				return errUnchanged
			}
			u.Orphaned = true
			return nil
		})
		switch {
		case err == nil:
			res.Orphaned = append(res.Orphaned, u.ID)
		case !errors.Is(err, errUnchanged) && !errors.Is(err, store.ErrNotFound):
			return res, s.storeErr(err)
		}
	}
	return res, nil
}

func (s *Service) syncErr(id string, err error) error {
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("user %s: the username %q is taken by a user created through the admin API; rename or delete that user: %w",
			id, id, err)
	}
	return s.storeErr(err)
}

// PurgeExpired removes expired sessions, handoff and reset tokens and
// brute-force counters from the store, and returns how many. Expiry itself
// is exact whenever this runs; it only bounds the store's growth.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	n, err := s.store.PurgeExpired(ctx, s.now())
	if err != nil {
		return n, s.storeErr(err)
	}
	return n, nil
}
