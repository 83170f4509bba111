package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/store"
)

// Revoked is what RevokeEverything ended.
type Revoked struct {
	// Generation is the user's new temporary-token generation: every
	// temporary token, session token and handoff token of an older one is
	// dead.
	Generation uint64 `json:"generation"`
	// Named is how many named tokens were revoked (those already revoked
	// are not counted).
	Named int `json:"named_revoked"`
	// Sessions is how many session records were deleted.
	Sessions int `json:"sessions_ended"`
	// Reset: the user's active password-reset token, if any, no longer
	// works.
	Reset bool `json:"reset_revoked"`
}

// RevokeEverything ends every credential of the user at once, the
// incident-response button: temporary tokens, session tokens and
// handoff tokens by a new generation (the first step, so that the
// broadest kill is in place first), then the session records, every
// named token (revoked, not deleted: the records stay for the
// investigation and can be restored one by one), and the active reset
// token (superseded by one that is already expired: only the newest
// counts). The user can still sign in with its password; block it too
// to stop that. A failure part-way returns the error with what was done;
// each step is idempotent, so calling again finishes the job.
func (s *Service) RevokeEverything(ctx context.Context, id string) (out Revoked, err error) {
	defer func() {
		s.emit(ctx, AuditEvent{Event: EventEverythingRevoked, Target: id,
			Detail: fmt.Sprintf("generation %d, %d named tokens revoked, %d sessions ended, reset token revoked: %t",
				out.Generation, out.Named, out.Sessions, out.Reset)}, "", err)
	}()
	gen, err := s.RevokeTemporary(ctx, id)
	if err != nil {
		return out, err
	}
	out.Generation = gen
	if out.Sessions, err = s.store.DeleteSessions(ctx, id); err != nil {
		return out, s.storeErr(err)
	}
	named, err := s.NamedTokens(ctx, id)
	if err != nil {
		return out, err
	}
	revoked := true
	for _, t := range named {
		if t.Revoked {
			continue
		}
		if err := s.store.UpdateNamed(ctx, id, t.ID, store.NamedUpdate{Revoked: &revoked}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, s.storeErr(err)
		}
		out.Named++
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return out, s.opErr(err)
	}
	if !u.ConfigManaged {
		// A token nobody knows, expired already, becomes the newest.
		now := s.now().UTC()
		err := s.store.CreateReset(ctx, store.ResetToken{Digest: digest(newResetSecret()), Subject: id, CreatedBy: "revoke-everything",
			CreatedAt: now, ExpiresAt: now})
		if err != nil {
			return out, s.opErr(err)
		}
		out.Reset = true
	}
	return out, nil
}
