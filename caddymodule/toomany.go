package caddymodule

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// tooManyWatch counts a 429 an endpoint answers: the endpoints write
// their own errors, each API in its format, so the status is the one
// place they all meet. Only endpoint requests are watched, not those the
// gate passes on: the gate counts its own refusals.
type tooManyWatch struct {
	http.ResponseWriter
	count prometheus.Counter
	wrote bool
}

func (t *tooManyWatch) WriteHeader(code int) {
	if !t.wrote && code >= 200 {
		t.wrote = true
		if code == http.StatusTooManyRequests {
			t.count.Inc()
		}
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *tooManyWatch) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer beneath.
func (t *tooManyWatch) Unwrap() http.ResponseWriter { return t.ResponseWriter }
