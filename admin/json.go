package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tokengate/tokengate/internal/httpx"
)

// decode reads a JSON body into v, refusing unknown fields, trailing data,
// bodies over maxBody and content types other than JSON. An empty body
// counts as {}.
func (rq *request) decode(v any) error {
	body, err := httpx.ReadBody(rq.r, maxBody)
	switch {
	case errors.Is(err, httpx.ErrTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, err, "request body exceeds %d bytes", maxBody)
	case err != nil:
		return errorf(http.StatusBadRequest, err, "reading request body: %v", err)
	}
	return decodeJSON(rq.r.Header.Get("Content-Type"), body, v)
}

func decodeJSON(contentType string, body []byte, v any) error {
	err := httpx.DecodeJSON(contentType, body, v, httpx.Decoding{Strict: true, EmptyIsObject: true})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, httpx.ErrMediaType):
		return errorf(http.StatusUnsupportedMediaType, err, "request body must be sent as application/json, not %q", contentType)
	}
	return errorf(http.StatusBadRequest, err, "invalid request body: %v", cause(err))
}

// cause is what DecodeJSON found wrong, without the ErrMalformed it
// joins it to: the message names the field or the offset.
func cause(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if e != httpx.ErrMalformed {
				return e
			}
		}
	}
	return err
}

// reply sends v as JSON, never cached, ending with a newline as Caddy's
// own admin answers do.
func (rq *request) reply(status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errorf(http.StatusInternalServerError, err, "encoding response: %v", err)
	}
	h := rq.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(status)
	_, _ = rq.w.Write(append(b, '\n'))
	return nil
}

func (rq *request) noContent() error {
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}
