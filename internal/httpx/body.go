package httpx

import (
	"errors"
	"io"
	"net/http"
)

// ErrTooLarge: the request body is over the limit.
var ErrTooLarge = errors.New("request body too large")

// drainLimit is how much of an oversized body is read and dropped before
// answering, so that a client still sending it reads the 413 rather than a
// connection reset. Larger bodies get the reset.
const drainLimit = 1 << 20

// ReadBody reads at most limit bytes of the request body.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err == nil && int64(len(b)) > limit {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, drainLimit))
		return nil, ErrTooLarge
	}
	return b, err
}
