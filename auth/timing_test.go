package auth

import "testing"

func TestHashClass(t *testing.T) {
	for _, tc := range []struct{ hash, want string }{
		{"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "$2a$10$"},
		{"$2b$04$abc", "$2b$04$"},
		{"$argon2id$v=19$m=47104,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=47104,t=1,p=1$"},
		{"not a hash", "not a hash"},
	} {
		if got := hashClass([]byte(tc.hash)); got != tc.want {
			t.Errorf("hashClass(%q) = %q, want %q", tc.hash, got, tc.want)
		}
	}
}
