package admin

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPI holds docs/admin-openapi.json to the routes: every path
// and method it documents is served, and every route is documented with
// exactly its methods.
func TestOpenAPI(t *testing.T) {
	b, err := os.ReadFile("../docs/admin-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document (%v)", err)
	}
	documented := func(path string) (string, []string) {
		segs := strings.Split(strings.Trim(path, "/"), "/")
		for tmpl, ops := range doc.Paths {
			ts := strings.Split(strings.Trim(tmpl, "/"), "/")
			if len(ts) != len(segs) {
				continue
			}
			ok := true
			for i := range ts {
				if !strings.HasPrefix(ts[i], "{") && ts[i] != segs[i] {
					ok = false
				}
			}
			if !ok {
				continue
			}
			var methods []string
			for m := range ops {
				if m != "parameters" {
					methods = append(methods, strings.ToUpper(m))
				}
			}
			slices.Sort(methods)
			return tmpl, methods
		}
		return "", nil
	}
	for tmpl := range doc.Paths {
		// A template's parameters filled in reach a route with its methods.
		path := tmpl
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + "x" + path[j+1:]
		}
		segs, err := segments(path)
		if err != nil {
			t.Errorf("%s: %v", tmpl, err)
			continue
		}
		rt, _ := match(segs)
		got := slices.Sorted(maps.Keys(rt.methods))
		_, want := documented(path)
		if rt.methods == nil || !slices.Equal(got, want) {
			t.Errorf("%s documents %v, the route serves %v", tmpl, want, got)
		}
	}
	for _, tc := range routingCases {
		if tc.route == "" {
			continue
		}
		path := strings.TrimSuffix(strings.ReplaceAll(tc.path, "%2F", "_"), "/")
		tmpl, methods := documented(path)
		if tmpl == "" || !slices.Equal(methods, tc.methods) {
			t.Errorf("route %q (%s, %v) is documented as %q %v", tc.route, tc.path, tc.methods, tmpl, methods)
		}
	}
}
