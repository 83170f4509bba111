package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		msg                     string
	}{
		{"empty body is {}", "", "", 0, ""},
		{"blank body is {}", "text/plain", " \n", 0, ""},
		{"json", "application/json", `{"id":"bob"}`, 0, ""},
		{"json with charset", "application/json; charset=utf-8", `{"id":"bob"}`, 0, ""},
		{"wrong content type", "text/plain", `{"id":"bob"}`, http.StatusUnsupportedMediaType,
			`request body must be sent as application/json, not "text/plain"`},
		{"no content type", "", `{"id":"bob"}`, http.StatusUnsupportedMediaType, `not ""`},
		{"unknown field", "application/json", `{"id":"bob","admin":true}`, http.StatusBadRequest,
			`invalid request body: json: unknown field "admin"`},
		{"wrong type", "application/json", `{"id":7}`, http.StatusBadRequest, "invalid request body: json: cannot unmarshal"},
		{"trailing data", "application/json", `{"id":"bob"} {}`, http.StatusBadRequest, "invalid request body: data after the JSON"},
		{"not json", "application/json", `id=bob`, http.StatusBadRequest, "invalid request body: invalid character"},
		{"null", "application/json", `null`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v userCreate
			err := decodeJSON(tc.contentType, []byte(tc.body), &v)
			if got := statusOf(t, err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q, want %q", err, tc.msg)
			}
			if strings.Contains(err2s(err), "\n") {
				t.Fatalf("message %q spans lines", err)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		body := `{"id":"` + strings.Repeat("x", maxBody) + `"}`
		r := httptest.NewRequest(http.MethodPost, "/tokengate/users", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rq := &request{w: httptest.NewRecorder(), r: r}
		if got := statusOf(t, rq.decode(new(userCreate))); got != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", got)
		}
	})
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
