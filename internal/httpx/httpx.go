// Package httpx holds the HTTP plumbing every front door shares (the seed
// APIs, the pages, the admin API): bounded bodies, strict JSON, and the
// headers that go with 405 and 429. Each door still writes its own error
// bodies; this package knows none of them.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StatusClientClosedRequest is what a request whose client went away is
// logged with, as Caddy's reverse_proxy and nginx do. The client reads
// nothing.
const StatusClientClosedRequest = 499

var (
	// ErrMediaType: a non-empty body that is not application/json.
	ErrMediaType = errors.New("request body must be application/json")
	// ErrMalformed: the body is not one JSON value of the expected shape.
	ErrMalformed = errors.New("malformed JSON body")
)

// WriteJSON sends v as JSON with the status, never cached. contentType
// "" means application/json.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/json"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// Decoding options.
type Decoding struct {
	// Strict refuses unknown fields and data after the value.
	Strict bool
	// EmptyIsObject reads an empty (or all-space) body as {}, whatever its
	// content type, as Onezone does.
	EmptyIsObject bool
}

// DecodeJSON decodes a body already read (ReadBody) into v.
func DecodeJSON(contentType string, body []byte, v any, o Decoding) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 && o.EmptyIsObject {
		body = []byte("{}")
	} else if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/json" {
		return ErrMediaType
	}
	if !o.Strict {
		if err := json.Unmarshal(body, v); err != nil {
			return errors.Join(ErrMalformed, err)
		}
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.Join(ErrMalformed, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.Join(ErrMalformed, errors.New("data after the JSON value"))
	}
	return nil
}

// RetryAfter sets Retry-After to RetrySeconds(d) and returns them.
func RetryAfter(w http.ResponseWriter, d time.Duration) int {
	secs := RetrySeconds(d)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs
}

// RetrySeconds is d in whole seconds, rounded up: what Retry-After says,
// for a body that repeats it.
func RetrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// Allow sets the Allow header of a 405 to the methods, sorted, and
// returns its value.
func Allow(w http.ResponseWriter, methods ...string) string {
	m := slices.Clone(methods)
	slices.Sort(m)
	v := strings.Join(m, ", ")
	w.Header().Set("Allow", v)
	return v
}
