package tokens

import (
	"strings"
	"testing"
)

// hasDotSegmentSplit is hasDotSegment as the definition says it.
func hasDotSegmentSplit(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// TestHasDotSegment holds hasDotSegment to its definition over every
// path of up to six bytes from '/', '.', 'a', and the usual suspects.
func TestHasDotSegment(t *testing.T) {
	alphabet := []byte{'/', '.', 'a'}
	var walk func(p []byte)
	walk = func(p []byte) {
		if got, want := hasDotSegment(string(p)), hasDotSegmentSplit(string(p)); got != want {
			t.Fatalf("hasDotSegment(%q) = %v, want %v", p, got, want)
		}
		if len(p) == 6 {
			return
		}
		for _, c := range alphabet {
			walk(append(p, c))
		}
	}
	walk(nil)
	for _, p := range []string{"/spaces/s1/docs/readme.md", "/a/.env", "/a/.../b", "/x/../../etc", "/a//./b", "/.", "/..", "."} {
		if got, want := hasDotSegment(p), hasDotSegmentSplit(p); got != want {
			t.Errorf("hasDotSegment(%q) = %v, want %v", p, got, want)
		}
	}
}
