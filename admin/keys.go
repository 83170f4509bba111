package admin

import (
	"errors"
	"net/http"

	"github.com/tokengate/tokengate/auth"
)

// GET /tokengate/keys → the accepted server keys, newest first: id,
// source (store or config), newest. Never key material.
func (rq *request) listKeys(_ []string) error {
	return rq.reply(http.StatusOK, rq.svc.Keys())
}

// POST /tokengate/keys → 201 {"id"}: add a fresh key to the store-held
// ring; every instance sharing the store signs with it from then on.
func (rq *request) rotateKey(_ []string) error {
	kid, err := rq.svc.RotateKey(rq.r.Context())
	if err != nil {
		return serviceError(err, "key ring")
	}
	return rq.reply(http.StatusCreated, map[string]string{"id": kid})
}

// DELETE /tokengate/keys/{id} → 200 {"id"}: remove a store-held key, and
// with it its tokens; 404 if the store ring has none such, 409 for a
// configured key.
func (rq *request) removeKey(args []string) error {
	err := rq.svc.RemoveKey(rq.r.Context(), args[0])
	switch {
	case errors.Is(err, auth.ErrKeyConfigured):
		return errorf(http.StatusConflict, err, "key %s is set in the Caddy config; remove it there and reload", args[0])
	case err != nil:
		return serviceError(err, "store-held key "+args[0])
	}
	return rq.reply(http.StatusOK, map[string]string{"id": args[0]})
}
