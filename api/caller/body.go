package caller

import (
	"errors"
	"io"
	"net/http"
)

// ErrTooLarge: the request body is over the limit.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads at most limit bytes of the request body. Unlike
// http.MaxBytesReader it does not make the server close the connection
// on an oversized body, so that a client still sending it reads the 413
// instead of a connection reset; the server drains what is left.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, err
}
