package redis

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

func TestUserTag(t *testing.T) {
	ids := []string{"", "alice", "{", "}", "{x}", "~", "~7b", "~~", "7b", "a}b", "ü"}
	seen := map[string]string{}
	for _, id := range ids {
		tag := userTag(id)
		if tag == "" || strings.ContainsAny(tag, "{}") {
			t.Errorf("userTag(%q) = %q: not a usable hash tag", id, tag)
		}
		if other, ok := seen[tag]; ok {
			t.Errorf("userTag(%q) = userTag(%q) = %q", id, other, tag)
		}
		seen[tag] = id
	}
}

func TestSortable(t *testing.T) {
	times := []time.Time{{}, time.Unix(0, 0), time.Unix(-1, 999999999), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	for range 1000 {
		times = append(times, time.Unix(rand.Int64N(1<<35)-1<<34, rand.Int64N(1e9)))
	}
	for range 10000 {
		a, b := times[rand.IntN(len(times))], times[rand.IntN(len(times))]
		sa, sb := sortable(a), sortable(b)
		if len(sa) != 29 || (sa < sb) != a.Before(b) || (sa == sb) != a.Equal(b) {
			t.Fatalf("sortable(%v) = %s, sortable(%v) = %s", a, sa, b, sb)
		}
	}
}

func TestParseMessage(t *testing.T) {
	r := &Store{self: "me"}
	for kind := range kindNames {
		want := store.Event{Kind: kind, Subject: "a:b:c"}
		e, from, ok := parseMessage(r.message(want))
		if !ok || e.Kind != want.Kind || e.Subject != want.Subject || from != "me" || time.Since(e.Sent) > time.Minute {
			t.Fatalf("parseMessage(message(%+v)) = %+v, %q, %v", want, e, from, ok)
		}
	}
	for _, bad := range []string{"", "temp", "temp:me:x:alice", "temp:me:1"} {
		if _, _, ok := parseMessage(bad); ok {
			t.Errorf("parseMessage(%q) ok", bad)
		}
	}
}
