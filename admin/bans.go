package admin

import (
	"net/http"
	"strings"
	"time"
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

// DELETE /tokengate/bans/{key} → 204: forget the failures of "ip:<addr>"
// or "user:<id>".
func (rq *request) liftBan(args []string) error {
	key := args[0]
	if !strings.HasPrefix(key, "ip:") && !strings.HasPrefix(key, "user:") {
		return errorf(http.StatusBadRequest, nil, "ban key must be ip:<address> or user:<id>")
	}
	if _, err := rq.svc.LiftBan(rq.r.Context(), key); err != nil {
		return serviceError(err, "ban")
	}
	return rq.noContent()
}
