package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/tokens"
)

// hintStore answers NamedOwner from owners where it has an entry: a
// stale or lost hint.
type hintStore struct {
	store.Store
	owners map[string]string
}

func (h hintStore) NamedOwner(ctx context.Context, id string) (string, error) {
	if o, ok := h.owners[id]; ok {
		if o == "" {
			return "", store.ErrNotFound
		}
		return o, nil
	}
	return h.Store.NamedOwner(ctx, id)
}

// TestNamedTokenFor: the caller's own token, anyone's for an admin,
// ErrForbidden for another's, ErrNotFound for an unknown id; the owner
// index is a hint, never the authority.
func TestNamedTokenFor(t *testing.T) {
	hints := map[string]string{}
	s := newService(t, hintStore{openStore(t), hints}, tokens.NewServerKey())
	own, _, err := s.IssueNamed(ctx, "alice", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobs, _, err := s.IssueNamed(ctx, "bob", "ci", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	lost, _, err := s.IssueNamed(ctx, "bob", "cd", tokens.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	hints[lost.ID] = ""       // the index lost it
	hints["stale"] = "bob"    // names a token bob does not have
	hints["self"] = "alice"   // names the caller, who does not have it
	hints["ghost"] = "nobody" // names a user that does not exist
	alice := &auth.Identity{ID: "alice"}
	for _, tc := range []struct {
		name    string
		id      string
		admin   bool
		want    error
		subject string
	}{
		{"own", own.ID, false, nil, "alice"},
		{"own, admin", own.ID, true, nil, "alice"},
		{"another's", bobs.ID, false, auth.ErrForbidden, ""},
		{"another's, admin", bobs.ID, true, nil, "bob"},
		{"unknown", "nope", false, auth.ErrNotFound, ""},
		{"unknown, admin", "nope", true, auth.ErrNotFound, ""},
		{"empty", "", true, auth.ErrNotFound, ""},
		{"lost hint", lost.ID, true, auth.ErrNotFound, ""},
		{"stale hint", "stale", true, auth.ErrNotFound, ""},
		{"stale hint, not admin", "stale", false, auth.ErrNotFound, ""},
		{"hint names the caller", "self", true, auth.ErrNotFound, ""},
		{"hint names nobody", "ghost", true, auth.ErrNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.NamedTokenFor(ctx, alice, tc.id, tc.admin)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if got.Subject != tc.subject || got.Secret != nil {
				t.Fatalf("token %+v, want subject %q and no secret", got, tc.subject)
			}
		})
	}
}
