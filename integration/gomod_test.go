package integration

import (
	"bytes"
	"os/exec"
	"testing"
)

// TestGoModTidy: go.mod and go.sum are what `go mod tidy` makes them, so
// that a fresh clone builds from exactly what they pin (bug 11: chromedp,
// used directly by the browser tests, was listed as indirect).
func TestGoModTidy(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "mod", "tidy", "-diff")
	cmd.Dir = modRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stdout.Len() > 0 {
		t.Fatalf("go mod tidy would change go.mod or go.sum; run it and commit the result:\n%s", stdout.Bytes())
	}
	if err != nil {
		t.Fatalf("go mod tidy -diff: %v\n%s", err, stderr.Bytes())
	}
}
