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

// banRequest is a ban to set: one of ip, user or key (as bans list
// shows it), for a Go duration, with an optional reason for the audit
// trail.
type banRequest struct {
	IP       string `json:"ip"`
	User     string `json:"user"`
	Key      string `json:"key"`
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

// POST /tokengate/bans {"ip"|"user"|"key", "duration", "reason"?} → 201
// the Ban: the key's budget used up until duration from now.
func (rq *request) addBan(_ []string) error {
	var req banRequest
	if err := rq.decode(&req); err != nil {
		return err
	}
	key, n := req.Key, 0
	for _, v := range []string{req.IP, req.User, req.Key} {
		if v != "" {
			n++
		}
	}
	switch {
	case n != 1:
		return errorf(http.StatusBadRequest, nil, "give exactly one of ip, user, key")
	case req.IP != "":
		key = "ip:" + req.IP
	case req.User != "":
		key = auth.UserKey(req.User)
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil {
		return errorf(http.StatusBadRequest, err, "invalid duration %q: want a Go duration such as 1h", req.Duration)
	}
	c, err := rq.svc.Ban(rq.r.Context(), key, d, req.Reason)
	if err != nil {
		return serviceError(err, "ban")
	}
	return rq.reply(http.StatusCreated, Ban{Key: c.Key, Count: c.Count, Until: c.Until.UTC()})
}
