package tokens

import (
	"fmt"
	"path"
	"strings"
)

// An api caveat is Onezone's, narrowed to what a gate sees: Onezone's
// entries are "<service type>/<operation>/<GRI pattern>" over its own
// entities (ozw/get/user.*.*:*), tokengate's are
// "<service>/<operation>/<path glob>" over the requests a gated route
// passes:
//
//   - service: a service name or a prefix ending in "*", as in a service
//     caveat ("*" is every route);
//   - operation: create (POST), get (GET, HEAD), update (PUT, PATCH),
//     delete (DELETE) or all (any method), Onezone's operations mapped
//     onto HTTP as REST does;
//   - path glob: the rest of the entry, from the slash after the
//     operation: "/deploy/*" is every path under /deploy/ at any depth (a
//     trailing "*" after no other "*" is a prefix), otherwise each "*"
//     matches within one segment ("/repos/*/issues"), as path.Match does.
//     Matching is case-sensitive, and a request path with "." or ".."
//     segments matches nothing: the upstream might resolve it elsewhere.
//
// "ci/create/deploy/*" lets the token POST below /deploy/ on the ci
// route and nothing else; "*/get/*" makes it read-only everywhere.

// apiEntry is one compiled whitelist entry.
type apiEntry struct {
	service string // a service pattern (CheckServicePattern)
	methods methodSet
	glob    string // the path glob, starting with "/"
	prefix  bool   // glob is a prefix: its "*" is the last byte and the only one
}

// methodSet is a set of HTTP methods, one bit each.
type methodSet uint8

const (
	mGet methodSet = 1 << iota
	mHead
	mPost
	mPut
	mPatch
	mDelete
	mOther // any other method: only "all" allows it
	mAll   = mGet | mHead | mPost | mPut | mPatch | mDelete | mOther
)

// apiOperations maps Onezone's operation names onto methods.
var apiOperations = map[string]methodSet{
	"create": mPost,
	"get":    mGet | mHead,
	"update": mPut | mPatch,
	"delete": mDelete,
	"all":    mAll,
}

// methodBit is the set holding method alone; a switch on constants does
// not allocate.
func methodBit(method string) methodSet {
	switch method {
	case "GET":
		return mGet
	case "HEAD":
		return mHead
	case "POST":
		return mPost
	case "PUT":
		return mPut
	case "PATCH":
		return mPatch
	case "DELETE":
		return mDelete
	case "":
		return 0
	}
	return mOther
}

func (c *Caveat) compileAPI() error {
	if len(c.Whitelist) == 0 {
		return fmt.Errorf("whitelist must not be empty")
	}
	c.api = make([]apiEntry, len(c.Whitelist))
	for i, s := range c.Whitelist {
		e, err := parseAPIEntry(s)
		if err != nil {
			return err
		}
		c.api[i] = e
	}
	return nil
}

// parseAPIEntry parses "<service>/<operation>/<path glob>".
func parseAPIEntry(s string) (apiEntry, error) {
	bad := func(why string) (apiEntry, error) {
		return apiEntry{}, fmt.Errorf("api entry %q: %s; want <service>/<create|get|update|delete|all>/<path glob>", s, why)
	}
	service, rest, ok := strings.Cut(s, "/")
	if !ok {
		return bad("no operation")
	}
	if CheckServicePattern(service) != nil {
		return bad("bad service")
	}
	op, _, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no path glob")
	}
	methods, ok := apiOperations[op]
	if !ok {
		return bad("unknown operation")
	}
	glob := rest[len(op):] // from the slash on
	if hasDotSegment(glob) || strings.ContainsRune(glob, 0) {
		return bad("path glob with . or .. segments")
	}
	e := apiEntry{service: service, methods: methods, glob: glob}
	if i := strings.IndexByte(glob, '*'); i == len(glob)-1 {
		e.prefix = true
	} else if _, err := path.Match(glob, "/"); err != nil {
		return bad("malformed path glob")
	}
	return e, nil
}

// matches reports whether the entry allows the request.
func (e *apiEntry) matches(r *Request, method methodSet) bool {
	if e.methods&method == 0 || !ServiceMatches(e.service, r.Service) {
		return false
	}
	if e.prefix {
		return strings.HasPrefix(r.Path, e.glob[:len(e.glob)-1])
	}
	ok, _ := path.Match(e.glob, r.Path)
	return ok
}

func (c *Caveat) checkAPI(r *Request) bool {
	m := methodBit(r.Method)
	if m == 0 || r.Service == "" || r.Path == "" || hasDotSegment(r.Path) {
		return false
	}
	for i := range c.api {
		if c.api[i].matches(r, m) {
			return true
		}
	}
	return false
}
