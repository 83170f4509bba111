package integration

// The audit trail (issue 16): Caddy's log config routes the
// tokengate.audit logger to its own file, where every state change made
// through any door is one entry naming its actor, client, request id
// (the one in the access log), target and outcome, and no secret; and
// the access log's user_id names who tokengate authenticated.

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// auditSite gates one site with the pages, writes its access log to
// access.log and the audit trail to audit.log.
var auditSite = caddyfile{
	Global: []string{"log audit {\n\toutput file {{.Dir}}/audit.log\n\tinclude tokengate.audit\n}"},
	App:    []string{"temporary_max_ttl 1h", "failure_budget 2 1m"},
	Sites: []site{{
		Before: []string{"log {\n\toutput file {{.Dir}}/access.log\n}"},
		Gate:   []string{"pages"},
	}},
}

// auditLog follows the audit and access logs of one process: after is
// what a step added.
type auditLog struct {
	t                   *testing.T
	audit, access       string
	seenAudit, seenAcc  int
	auditNow, accessNow []map[string]any
}

func newAuditLog(t *testing.T, c *caddyProc) *auditLog {
	return &auditLog{t: t, audit: filepath.Join(c.dir, "audit.log"), access: filepath.Join(c.dir, "access.log")}
}

// next waits for n new audit entries and, if accessed, one new access
// log entry, and returns them.
func (l *auditLog) next(n int, accessed bool) ([]map[string]any, map[string]any) {
	l.t.Helper()
	acc := 0
	if accessed {
		acc = 1
	}
	eventually(l.t, 10*time.Second, "the step's log entries", func() bool {
		l.auditNow, l.accessNow = logLines(l.t, l.audit), accessEntries(logLines(l.t, l.access))
		return len(l.auditNow) >= l.seenAudit+n && len(l.accessNow) >= l.seenAcc+acc
	})
	got := l.auditNow[l.seenAudit:]
	l.seenAudit = len(l.auditNow)
	var a map[string]any
	if accessed {
		a = l.accessNow[len(l.accessNow)-1]
		l.seenAcc = len(l.accessNow)
	}
	return got, a
}

func accessEntries(entries []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if name, _ := e["logger"].(string); strings.HasPrefix(name, "http.log.access") {
			out = append(out, e)
		}
	}
	return out
}

func TestAuditTrail(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, auditSite)
	base := c.site(0)
	log := newAuditLog(t, c)
	alice := hdr{"Authorization": basic("alice", alicePassword)}
	secrets := map[string]string{"alice's password": alicePassword}

	// The declared users, applied as the config started.
	entries, _ := log.next(3, false)
	wantAudit(t, "config sync", entries, []map[string]string{
		{"event": "user_created", "actor": "config", "target": "alice", "outcome": "ok"},
		{"event": "user_created", "actor": "config", "target": "bob", "outcome": "ok"},
		{"event": "config_synced", "actor": "config", "outcome": "ok"},
	})

	var tempTok, namedID, namedTok, carolTok, session, resetTok, handoffTok string
	const carolPassword = "carol-pw-Mv42pL"
	secrets["carol's password"] = carolPassword
	steps := []struct {
		name string
		do   func() *response
		// admin: through the admin API, which has no request id or
		// access log; the actor is "admin" at the client's address.
		admin  bool
		user   string // the access log's user_id
		status int
		want   []map[string]string
	}{
		{"onezone: issue temporary", func() *response {
			r := c.do(t, http.MethodPost, base+tempPath, alice, map[string]any{"caveats": timeCaveats(600)})
			tempTok, _ = r.JSON["token"].(string)
			return r
		}, false, "alice", http.StatusCreated,
			[]map[string]string{{"event": "token_issued", "kind": "temporary", "actor": "alice", "target": "alice", "outcome": "ok"}}},
		{"onezone: issue named", func() *response {
			r := c.do(t, http.MethodPost, base+namedAPI, hdr{"X-Auth-Token": tempTok}, map[string]any{"name": "ci"})
			namedID, _ = r.JSON["tokenId"].(string)
			namedTok, _ = r.JSON["token"].(string)
			return r
		}, false, "alice", http.StatusCreated,
			[]map[string]string{{"event": "token_issued", "kind": "named", "actor": "alice", "target": "$named", "user": "alice", "name": "ci", "outcome": "ok"}}},
		{"onezone: revoke named", func() *response {
			return c.do(t, http.MethodPatch, base+byIDAPI+namedID, hdr{"X-Auth-Token": tempTok}, map[string]any{"revoked": true})
		}, false, "alice", http.StatusNoContent,
			[]map[string]string{{"event": "token_revoked", "kind": "named", "actor": "alice", "target": "$named", "user": "alice", "outcome": "ok"}}},
		{"onezone: delete named", func() *response {
			return c.do(t, http.MethodDelete, base+byIDAPI+namedID, alice, nil)
		}, false, "alice", http.StatusNoContent,
			[]map[string]string{{"event": "token_deleted", "kind": "named", "actor": "alice", "target": "$named", "user": "alice", "outcome": "ok"}}},
		{"onezone: revoke all temporary", func() *response {
			return c.do(t, http.MethodDelete, base+tempPath, alice, nil)
		}, false, "alice", http.StatusNoContent,
			[]map[string]string{{"event": "temporary_tokens_revoked", "kind": "temporary", "actor": "alice", "target": "alice", "outcome": "ok"}}},
		{"admin: create user", func() *response {
			return c.adminReq(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "carol", "password": carolPassword})
		}, true, "", http.StatusCreated,
			[]map[string]string{{"event": "user_created", "actor": "admin", "target": "carol", "outcome": "ok"}}},
		{"admin: create a taken id", func() *response {
			return c.adminReq(t, http.MethodPost, "/tokengate/users", map[string]any{"id": "carol"})
		}, true, "", http.StatusConflict,
			[]map[string]string{{"event": "user_created", "actor": "admin", "target": "carol", "outcome": "exists"}}},
		{"admin: block", func() *response {
			return c.adminReq(t, http.MethodPost, "/tokengate/users/carol/block", nil)
		}, true, "", http.StatusOK,
			[]map[string]string{{"event": "user_blocked", "actor": "admin", "target": "carol", "outcome": "ok"}}},
		{"admin: unblock", func() *response {
			return c.adminReq(t, http.MethodPost, "/tokengate/users/carol/unblock", nil)
		}, true, "", http.StatusOK,
			[]map[string]string{{"event": "user_unblocked", "actor": "admin", "target": "carol", "outcome": "ok"}}},
		{"admin: issue temporary", func() *response {
			r := c.adminReq(t, http.MethodPost, "/tokengate/users/carol/tokens/temporary", map[string]any{})
			carolTok, _ = r.JSON["token"].(string)
			return r
		}, true, "", http.StatusCreated,
			[]map[string]string{{"event": "token_issued", "kind": "temporary", "actor": "admin", "target": "carol", "outcome": "ok"}}},
		{"pages: sign in", func() *response {
			r := c.do(t, http.MethodPost, base+"/login", hdr{"Content-Type": "application/x-www-form-urlencoded"},
				url.Values{"username": {"alice"}, "password": {alicePassword}}.Encode())
			for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
				if ck.Name == defaultSessionCk {
					session = ck.Value
				}
			}
			return r
		}, false, "alice", http.StatusSeeOther,
			[]map[string]string{{"event": "session_started", "kind": "session", "actor": "alice", "target": "*", "user": "alice", "outcome": "ok"}}},
		{"sign out", func() *response {
			return c.do(t, http.MethodPost, base+"/logout", hdr{"Cookie": defaultSessionCk + "=" + session}, nil)
		}, false, "alice", http.StatusNoContent,
			[]map[string]string{{"event": "session_ended", "kind": "session", "actor": "alice", "target": "*", "user": "alice", "outcome": "ok"}}},
		{"admin: reset token", func() *response {
			r := c.adminReq(t, http.MethodPost, "/tokengate/users/carol/reset-token", nil)
			resetTok, _ = r.JSON["token"].(string)
			return r
		}, true, "", http.StatusCreated,
			[]map[string]string{{"event": "token_issued", "kind": "reset", "actor": "admin", "target": "carol", "outcome": "ok"}}},
		{"unleash: reset the password", func() *response {
			return c.postReset(t, map[string]string{"token": resetTok, "password": carolPassword + "-2"}, nil)
		}, false, "", http.StatusOK,
			[]map[string]string{{"event": "password_reset", "kind": "reset", "actor": "carol", "target": "carol", "outcome": "ok"}}},
		{"openpaas: handoff token", func() *response {
			r := c.do(t, http.MethodGet, base+atPath, alice, nil)
			handoffTok, _ = r.JSON["token"].(string)
			return r
		}, false, "alice", http.StatusOK,
			[]map[string]string{{"event": "token_issued", "kind": "handoff", "actor": "alice", "target": "alice", "outcome": "ok"}}},
		{"a wrong password", func() *response {
			return c.do(t, http.MethodGet, base+tempPath, hdr{"Authorization": basic("bob", "wrong-1")}, nil)
		}, false, "", http.StatusUnauthorized, nil},
		{"the budget used up", func() *response {
			return c.do(t, http.MethodGet, base+tempPath, hdr{"Authorization": basic("bob", "wrong-2")}, nil)
		}, false, "", http.StatusUnauthorized,
			[]map[string]string{{"event": "banned", "target": "ip:127.0.0.1", "outcome": "ok"}}},
		{"admin: lift the ban", func() *response {
			return c.adminReq(t, http.MethodDelete, "/tokengate/bans/127.0.0.1", nil)
		}, true, "", http.StatusOK,
			[]map[string]string{{"event": "ban_lifted", "actor": "admin", "target": "ip:127.0.0.1", "outcome": "ok"}}},
		{"admin: delete user", func() *response {
			return c.adminReq(t, http.MethodDelete, "/tokengate/users/carol", nil)
		}, true, "", http.StatusNoContent,
			[]map[string]string{{"event": "user_deleted", "actor": "admin", "target": "carol", "outcome": "ok"}}},
	}
	for _, s := range steps {
		r := s.do()
		if r.Status != s.status {
			t.Fatalf("%s: got %s, want %d", s.name, r, s.status)
		}
		entries, acc := log.next(len(s.want), !s.admin)
		for _, w := range s.want {
			if w["target"] == "$named" {
				w["target"] = namedID
			}
		}
		wantAudit(t, s.name, entries, s.want)
		for _, e := range entries {
			if e["logger"] != "tokengate.audit" || e["level"] != "info" {
				t.Errorf("%s: logged by %v at %v, want tokengate.audit at info", s.name, e["logger"], e["level"])
			}
			if s.admin {
				if addr, _ := e["actor_addr"].(string); !strings.HasPrefix(addr, "127.0.0.1:") || e["client_ip"] != "127.0.0.1" {
					t.Errorf("%s: the admin's address is not in %v", s.name, e)
				}
				continue
			}
			if e["client_ip"] != "127.0.0.1" {
				t.Errorf("%s: client_ip %v, want 127.0.0.1", s.name, e["client_ip"])
			}
			if id, _ := e["request_id"].(string); id == "" || id != acc["uuid"] {
				t.Errorf("%s: request_id %q, the access log's uuid %v", s.name, id, acc["uuid"])
			}
		}
		if !s.admin && acc["user_id"] != s.user {
			t.Errorf("%s: the access log's user_id is %v, want %q", s.name, acc["user_id"], s.user)
		}
	}
	secrets["a temporary token"], secrets["a named token"], secrets["the admin's token"], secrets["a session"] =
		tempTok, namedTok, carolTok, session
	secrets["a reset token"], secrets["a handoff token"] = resetTok, handoffTok
	b, err := os.ReadFile(log.audit)
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range secrets {
		if secret == "" {
			t.Errorf("%s: the step that made it failed", what)
		} else if strings.Contains(string(b), secret) {
			t.Errorf("audit.log holds %s", what)
		}
	}
	// Only the audit trail is in audit.log.
	for _, e := range logLines(t, log.audit) {
		if e["logger"] != "tokengate.audit" {
			t.Errorf("audit.log holds an entry of %v", e["logger"])
		}
	}
}

// wantAudit checks entries against want, field by field; a field wanted
// empty must be absent or empty, one wanted "*" present (an id made by
// the step).
func wantAudit(t *testing.T, step string, entries []map[string]any, want []map[string]string) {
	t.Helper()
	if len(entries) != len(want) {
		t.Errorf("%s: %d audit entries %v, want %d", step, len(entries), entries, len(want))
		return
	}
	for i, w := range want {
		for _, k := range []string{"event", "actor", "target", "user", "kind", "name", "outcome"} {
			got, _ := entries[i][k].(string)
			if got != w[k] && !(w[k] == "*" && got != "") {
				t.Errorf("%s: entry %d's %s is %q, want %q (%v)", step, i, k, got, w[k], entries[i])
			}
		}
	}
}

// TestAccessLogUserID: the access log names the user tokengate
// authenticated, for a gated request as for its own endpoints, and
// nobody for a refused request.
func TestAccessLogUserID(t *testing.T) {
	t.Parallel()
	c := newCaddy(t, auditSite)
	base := c.site(0)
	log := newAuditLog(t, c)
	log.next(3, false) // the config sync
	tok := c.mintTemporary(t, base, "bob", bobPassword, 600)
	if _, acc := log.next(1, true); acc["user_id"] != "bob" {
		t.Errorf("minting with Basic: user_id %v, want bob", acc["user_id"])
	}
	for _, tc := range []struct {
		name, path string
		h          hdr
		status     int
		user       string
	}{
		{"gated", "/app/x", hdr{"X-Auth-Token": tok}, http.StatusOK, "bob"},
		{"an endpoint, by token", tempPath, hdr{"X-Auth-Token": tok}, http.StatusOK, "bob"},
		{"refused", "/app/x", hdr{"X-Auth-Token": "not-a-token"}, http.StatusUnauthorized, ""},
		{"an endpoint, refused", tempPath, hdr{"Authorization": basic("bob", "wrong")}, http.StatusUnauthorized, ""},
	} {
		r := c.do(t, http.MethodGet, base+tc.path, tc.h, nil)
		if r.Status != tc.status {
			t.Fatalf("%s: got %s, want %d", tc.name, r, tc.status)
		}
		_, acc := log.next(0, true)
		if got, _ := acc["user_id"].(string); got != tc.user {
			t.Errorf("%s: user_id %q, want %q", tc.name, got, tc.user)
		}
	}
}

// TestAuditAcrossInstances: of two instances sharing Redis, the one
// that made a change logs it at INFO, naming itself; the other logs only
// that it heard of it, at DEBUG, naming the first as the origin.
func TestAuditAcrossInstances(t *testing.T) {
	t.Parallel()
	rs := newRedis(t)
	cfg := sharedSite(rs.addr(), nil)
	cfg.Global = []string{"log audit {\n\toutput file {{.Dir}}/audit.log\n\tinclude tokengate.audit\n\tlevel DEBUG\n}"}
	cs := startInstances(t, sharedKeyEnv(t), cfg, cfg)
	a, b := cs[0], cs[1]
	if r := a.do(t, http.MethodDelete, a.site(0)+tempPath, hdr{"Authorization": basic("alice", alicePassword)}, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking on A: got %s, want 204", r)
	}
	revoked := func(e map[string]any) bool { return e["event"] == "temporary_tokens_revoked" && e["target"] == "alice" }
	var made map[string]any
	eventually(t, 10*time.Second, "A's entry", func() bool {
		for _, e := range logLines(t, filepath.Join(a.dir, "audit.log")) {
			if revoked(e) {
				made = e
			}
		}
		return made != nil
	})
	origin, _ := made["instance"].(string)
	if made["level"] != "info" || origin == "" || made["actor"] != "alice" {
		t.Fatalf("A's entry %v: want it at info, by alice, naming A's instance", made)
	}
	var heard map[string]any
	eventually(t, 10*time.Second, "B hearing of A's change", func() bool {
		for _, e := range logLines(t, filepath.Join(b.dir, "audit.log")) {
			if e["event"] == "remote_change" && e["kind"] == "temp" && e["target"] == "alice" {
				heard = e
			}
		}
		return heard != nil
	})
	if heard["level"] != "debug" || heard["origin"] != origin || heard["outcome"] != "ok" {
		t.Errorf("B's entry %v: want it at debug with origin %s", heard, origin)
	}
	if _, ok := heard["actor"]; ok {
		t.Errorf("B's entry %v names an actor: only the origin knows it", heard)
	}
	for _, e := range logLines(t, filepath.Join(b.dir, "audit.log")) {
		if revoked(e) {
			t.Errorf("B logged A's change as its own: %v", e)
		}
	}
}
