package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/auth"
)

// Ban is a client or user past its brute-force budget, as the API shows
// it.
type Ban struct {
	// Key is "ip:<address>" or "user:<id>".
	Key string `json:"key"`
	// Count is the failures in the current window.
	Count int `json:"count"`
	// Until is when the window ends and the key may try again.
	Until time.Time `json:"until"`
}

// GET /tokengate/bans → the clients and users past their brute-force budget.
func (rq *request) listBans(_ []string) error {
	bans, err := rq.svc.Bans(rq.r.Context())
	if err != nil {
		return serviceError(err, "bans")
	}
	out := make([]Ban, len(bans))
	for i, b := range bans {
		out[i] = Ban{Key: b.Key, Count: b.Count, Until: b.Until}
	}
	return rq.reply(http.StatusOK, out)
}

// DELETE /tokengate/bans/{key} → 200 {"key"}: forget the failures of
// "ip:<addr>", a bare address or "user:<id>", spelled in any way
// auth.Service.BanKey reads, and name the key lifted; 404 if none are
// counted.
func (rq *request) liftBan(args []string) error {
	key, err := rq.svc.LiftBan(rq.r.Context(), args[0])
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return errorf(http.StatusNotFound, err, "no failures counted for %s: nothing to lift", key)
	case err != nil:
		return serviceError(err, "ban")
	}
	return rq.reply(http.StatusOK, map[string]string{"key": key})
}
