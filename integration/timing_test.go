package integration

// Issue 14, finding 4: a wrong password takes as long for an unknown
// user, a user without a password, a bcrypt user and an argon2id user.
// Timing is measured in a benchmark, not asserted in a test; the padding
// itself is tested in auth (TestLoginTimingPadded).

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkWrongPasswordTiming reports the median time of 30 wrong Basic
// passwords, each from its own address, for each kind of user, in ms:
//
//	go test -run '^$' -bench BenchmarkWrongPasswordTiming -benchtime 1x ./integration
func BenchmarkWrongPasswordTiming(b *testing.B) {
	const tries = 30
	bc, err := bcrypt.GenerateFromPassword([]byte("b10-password"), 10)
	if err != nil {
		b.Fatal(err)
	}
	salt := []byte("sixteen byte salt")
	// Caddy's `hash-password --algorithm argon2id` defaults.
	key := argon2.IDKey([]byte("a2-password"), salt, 1, 46*1024, 1, 32)
	a2 := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", 46*1024, 1, 1,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	cfg := caddyfile{
		Global: []string{trustLoopbackProxy},
		App:    []string{"failure_budget 1000000000", "password_concurrency 1"},
		Users:  []string{"user b10 {\n\tpassword " + string(bc) + "\n}", "user a2 {\n\tpassword " + a2 + "\n}"},
		Sites:  []site{{Body: []string{`respond "ok" 200`}}},
	}
	c := startBenchCaddy(b, cfg)
	c.client = &http.Client{Timeout: 30 * time.Second}
	// A user without a password, as an operator creates one for a welcome
	// link.
	if r, err := tryWith(c.client, http.MethodPost, "http://"+c.admin+"/tokengate/users", nil,
		map[string]any{"id": "welcome"}); err != nil || r.Status != http.StatusCreated {
		b.Fatalf("creating a user without a password: %v %v", r, err)
	}
	n := 0
	median := func(user string) time.Duration {
		ds := make([]time.Duration, tries)
		for i := range ds {
			n++
			ip := "10.9." + strconv.Itoa(n/250) + "." + strconv.Itoa(n%250+1)
			start := time.Now()
			r, err := tryWith(c.client, http.MethodPost, c.site(0)+tempPath,
				fromIP(ip, hdr{"Authorization": basic(user, "wrong-password")}), map[string]any{"caveats": timeCaveats(600)})
			ds[i] = time.Since(start)
			if err != nil || r.Status != http.StatusUnauthorized {
				b.Fatalf("%s: %v %v", user, r, err)
			}
		}
		slices.Sort(ds)
		return ds[tries/2]
	}
	for b.Loop() {
		for _, u := range []string{"b10", "a2"} { // the classes are learnt at start; one warm-up each
			median(u)
		}
		for _, u := range []struct{ name, unit string }{
			{"nobody", "unknown-ms"}, {"welcome", "no-password-ms"}, {"b10", "bcrypt10-ms"}, {"a2", "argon2id-ms"},
		} {
			b.ReportMetric(float64(median(u.name).Microseconds())/1000, u.unit)
		}
	}
}
