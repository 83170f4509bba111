package tokens

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Paths as data.path and api caveats read them: base64 whitelist
// entries, and the dot segments that make a prefix check say nothing.

// decodePath decodes one base64 entry of a data.path whitelist (standard
// alphabet, padded, as Onezone encodes it) into an absolute path without
// a trailing slash ("/" stays "/"). A path with dot segments is refused:
// a prefix check on it would not say where it leads.
func decodePath(s string) (string, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("whitelist entry %q is not base64", s)
	}
	p := string(b)
	if !strings.HasPrefix(p, "/") || hasDotSegment(p) || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("whitelist entry %q is not an absolute path without . or .. segments", s)
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	return p, nil
}

// hasDotSegment reports whether path has a "." or ".." segment. It does
// not allocate, and jumps from dot to dot with IndexByte: most paths have
// dots only in file names, so the gate, which asks on every request a
// data.path or api caveat checks, mostly pays for one or two byte scans.
func hasDotSegment(path string) bool {
	for i := 0; ; {
		j := strings.IndexByte(path[i:], '.')
		if j < 0 {
			return false
		}
		i += j
		if (i == 0 || path[i-1] == '/') && isDotSegment(path[i:]) {
			return true
		}
		// Past this run of dots: none of them begins a segment.
		for i < len(path) && path[i] == '.' {
			i++
		}
	}
}

// isDotSegment reports whether p begins with a "." or ".." segment.
func isDotSegment(p string) bool {
	n := 0
	for n < len(p) && n < 3 && p[n] == '.' {
		n++
	}
	return (n == 1 || n == 2) && (n == len(p) || p[n] == '/')
}

// underPath reports whether path is prefix or below it, on segment
// boundaries: "/a" holds "/a" and "/a/b", not "/ab".
func underPath(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return prefix == "/" || len(path) == len(prefix) || path[len(prefix)] == '/'
}
