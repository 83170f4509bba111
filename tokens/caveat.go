package tokens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Caveat types tokengate understands. Onezone knows more (asn, geo.*,
// data.objectid: see unsupportedCaveats); tokengate refuses those at
// creation rather than issuing a token whose restriction it would not
// enforce.
const (
	CaveatTime      = "time"
	CaveatIP        = "ip"
	CaveatInterface = "interface"
	// Only GET, HEAD and OPTIONS pass.
	CaveatReadonly = "data.readonly"
	// Only requests under one of the whitelisted paths pass; Onezone
	// sends the paths base64-encoded, and so does the token.
	CaveatPath = "data.path"
	// Only routes whose service name matches the whitelist pass.
	CaveatService = "service"
	// Only requests matching one "<service>/<operation>/<path glob>"
	// entry of the whitelist pass (see caveat_api.go).
	CaveatAPI = "api"
	// Only requests that also carry the valid token of a whitelisted
	// consumer ("usr-<id>", "usr-*") pass (see caveat_consumer.go).
	CaveatConsumer = "consumer"
)

// caveatKind is a caveat type as compile found it: check switches on a
// byte rather than comparing type names on every request. The zero kind
// is a caveat never compiled, which holds for nothing.
type caveatKind uint8

const (
	kindNone caveatKind = iota
	kindTime
	kindIP
	kindInterface
	kindReadonly
	kindPath
	kindService
	kindAPI
	kindConsumer
)

var caveatKinds = map[string]caveatKind{
	CaveatTime: kindTime, CaveatIP: kindIP, CaveatInterface: kindInterface, CaveatReadonly: kindReadonly,
	CaveatPath: kindPath, CaveatService: kindService, CaveatAPI: kindAPI, CaveatConsumer: kindConsumer,
}

// caveatField is the one field each caveat type takes besides "type"
// ("" for none).
var caveatField = map[string]string{
	CaveatTime: "validUntil", CaveatIP: "whitelist", CaveatInterface: "interface",
	CaveatReadonly: "", CaveatPath: "whitelist", CaveatService: "whitelist",
	CaveatAPI: "whitelist", CaveatConsumer: "whitelist",
}

// unsupportedCaveats are Onezone caveat types tokengate cannot enforce,
// with why: they are refused at creation with that reason, since a
// token that silently ignored them would be wider than its creator
// meant.
var unsupportedCaveats = map[string]string{
	"asn":           "asn caveats need a GeoIP (ASN) database, which tokengate does not have",
	"geo.country":   "geo.country caveats need a GeoIP database, which tokengate does not have",
	"geo.region":    "geo.region caveats need a GeoIP database, which tokengate does not have",
	"data.objectid": "data.objectid caveats name Oneprovider file objects, which tokengate does not have",
}

// Interfaces a request can arrive through, as Onezone names them. The gate
// and the REST endpoints are "rest".
var interfaces = []string{"rest", "oneclient", "graphsync"}

// Caveat is one restriction on a token, in Onezone's JSON form.
type Caveat struct {
	Type       string   `json:"type"`
	ValidUntil int64    `json:"validUntil,omitempty"`
	Whitelist  []string `json:"whitelist,omitempty"`
	Interface  string   `json:"interface,omitempty"`

	kind  caveatKind     // Type, compiled: what check switches on
	nets  []netip.Prefix // compiled Whitelist of an ip caveat
	paths []string       // decoded Whitelist of a data.path caveat, without a trailing slash
	api   []apiEntry     // compiled Whitelist of an api caveat
}

// MaxValidUntil is the latest validUntil a time caveat may name,
// 9999-12-31T23:59:59Z. Past it, time.Unix wraps around (from
// 9223371974719179008 on, a far-future caveat reads as a far-past
// time, which once let a temporary token past its maximum TTL) and RFC
// 3339 cannot print the expiry; no token has a use for a later one.
const MaxValidUntil = 253402300799

// Request is what caveats are checked against.
type Request struct {
	Now       time.Time
	ClientIP  netip.Addr // zero when unknown: an ip caveat then fails
	Interface string     // "" when unknown: an interface caveat then fails
	// Method is the HTTP method; "" when unknown (the token endpoints):
	// a data.readonly caveat then fails.
	Method string
	// Path is the decoded path the upstream is asked for; "" when
	// unknown: a data.path caveat then fails.
	Path string
	// Service is the gated route's service name; "" when unknown (the
	// token endpoints): a service caveat then fails.
	Service string
	// ConsumerToken is the raw x-onedata-consumer-token the request
	// carried, "" for none. Check never reads it: the auth package
	// verifies it, only for a token with a consumer caveat, and sets
	// Consumer.
	ConsumerToken string
	// Consumer is the user id ConsumerToken was verified to belong to;
	// "" when there is none or it did not verify: a consumer caveat then
	// fails.
	Consumer string
}

// ParseCaveats decodes the "caveats" member of a creation request. A value
// that is not a list is ErrBadData; an element that is not a well-formed
// caveat of a known type is a *CaveatError wrapping ErrBadCaveat.
func ParseCaveats(raw json.RawMessage) ([]Caveat, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return nil, ErrBadData
	}
	out := make([]Caveat, 0, len(elems))
	for _, e := range elems {
		c, err := parseCaveat(e)
		if err != nil {
			_, unsupported := unsupportedCaveats[c.Type]
			return nil, &CaveatError{Err: ErrBadCaveat, Caveat: bytes.Clone(e), Reason: err.Error(), Unsupported: unsupported}
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCaveat(raw json.RawMessage) (Caveat, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Caveat{}, fmt.Errorf("not an object")
	}
	var c Caveat
	if err := json.Unmarshal(fields["type"], &c.Type); err != nil {
		return Caveat{}, fmt.Errorf("missing type")
	}
	if why, ok := unsupportedCaveats[c.Type]; ok {
		return Caveat{Type: c.Type}, errors.New(why)
	}
	want, known := caveatField[c.Type]
	switch {
	case !known:
		return Caveat{}, fmt.Errorf("unknown caveat type %q", c.Type)
	case want == "" && len(fields) != 1:
		return Caveat{}, fmt.Errorf("%s caveat takes no field but \"type\"", c.Type)
	case want != "" && (len(fields) != 2 || fields[want] == nil):
		return Caveat{}, fmt.Errorf("%s caveat takes exactly the field %q", c.Type, want)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Caveat{}, fmt.Errorf("bad %s: %v", want, err)
	}
	return c, c.compile()
}

// compile validates a decoded caveat and prepares it for checking.
func (c *Caveat) compile() error {
	c.kind = caveatKinds[c.Type]
	switch c.Type {
	case CaveatTime:
		if c.ValidUntil <= 0 || c.ValidUntil > MaxValidUntil {
			return fmt.Errorf("validUntil must be an epoch time in seconds from 1 to %d (year 9999)", MaxValidUntil)
		}
	case CaveatIP:
		if len(c.Whitelist) == 0 {
			return fmt.Errorf("whitelist must not be empty")
		}
		c.nets = make([]netip.Prefix, len(c.Whitelist))
		for i, s := range c.Whitelist {
			p, err := parsePrefix(s)
			if err != nil {
				return err
			}
			c.nets[i] = p
		}
	case CaveatInterface:
		for _, i := range interfaces {
			if c.Interface == i {
				return nil
			}
		}
		return fmt.Errorf("interface must be one of %s", strings.Join(interfaces, ", "))
	case CaveatReadonly:
		if c.ValidUntil != 0 || c.Whitelist != nil || c.Interface != "" {
			return fmt.Errorf("data.readonly caveat takes no field")
		}
	case CaveatPath:
		if len(c.Whitelist) == 0 {
			return fmt.Errorf("whitelist must not be empty")
		}
		c.paths = make([]string, len(c.Whitelist))
		for i, s := range c.Whitelist {
			p, err := decodePath(s)
			if err != nil {
				return err
			}
			c.paths[i] = p
		}
	case CaveatService:
		if len(c.Whitelist) == 0 {
			return fmt.Errorf("whitelist must not be empty")
		}
		for _, s := range c.Whitelist {
			if err := CheckServicePattern(s); err != nil {
				return err
			}
		}
	case CaveatAPI:
		return c.compileAPI()
	case CaveatConsumer:
		return c.compileConsumer()
	default:
		return fmt.Errorf("unknown caveat type %q", c.Type)
	}
	return nil
}

// CheckCaveats reports the first caveat that a token could not carry
// (Verify would refuse the token as malformed) as a *CaveatError
// wrapping ErrBadCaveat. ParseCaveats' caveats pass; it is for caveats
// built in code, which did not come through it.
func CheckCaveats(caveats []Caveat) error {
	for _, c := range caveats {
		// compile fills in nets: check a copy, so that caveats shared
		// by goroutines are only read.
		if err := c.compile(); err != nil {
			raw, _ := json.Marshal(c)
			return &CaveatError{Err: ErrBadCaveat, Caveat: raw, Reason: err.Error()}
		}
	}
	return nil
}

// parsePrefix parses an address or CIDR. IPv4-mapped IPv6 forms are
// unmapped, as client addresses are, so that both spellings match.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// check reports whether the caveat holds for r. Only compiled caveats
// (ParseCaveats, Verify) can hold.
func (c *Caveat) check(r *Request) bool {
	switch c.kind {
	case kindTime:
		return r.Now.Unix() < c.ValidUntil
	case kindIP:
		ip := r.ClientIP.Unmap()
		for _, n := range c.nets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	case kindInterface:
		return r.Interface == c.Interface
	case kindReadonly:
		// Compared, not looked up: a switch on constants does not allocate.
		switch r.Method {
		case "GET", "HEAD", "OPTIONS":
			return true
		}
		return false
	case kindPath:
		// A path with dot segments is under nothing: the upstream may
		// resolve it elsewhere.
		if r.Path == "" || hasDotSegment(r.Path) {
			return false
		}
		for _, p := range c.paths {
			if underPath(r.Path, p) {
				return true
			}
		}
		return false
	case kindService:
		if r.Service == "" {
			return false
		}
		for _, p := range c.Whitelist {
			if ServiceMatches(p, r.Service) {
				return true
			}
		}
		return false
	case kindAPI:
		return c.checkAPI(r)
	case kindConsumer:
		return c.checkConsumer(r)
	}
	return false
}

// Check verifies every caveat against r and returns a *CaveatError for the
// first that does not hold.
func Check(caveats []Caveat, r *Request) error {
	for i := range caveats {
		if !caveats[i].check(r) {
			return caveats[i].unverified()
		}
	}
	return nil
}

// CheckIgnoring is Check with the caveats of the named types left out,
// for the endpoints that ask what a token allows regardless of where it
// is used (Onezone's infer_access_token_scope ignores service,
// interface and api caveats).
func CheckIgnoring(caveats []Caveat, r *Request, ignore ...string) error {
	for i := range caveats {
		if !slices.Contains(ignore, caveats[i].Type) && !caveats[i].check(r) {
			return caveats[i].unverified()
		}
	}
	return nil
}

func (c *Caveat) unverified() error {
	raw, _ := json.Marshal(c)
	reason := "unverified " + c.Type + " caveat"
	if c.Type == CaveatTime {
		reason = "this token has expired at '" + time.Unix(c.ValidUntil, 0).UTC().Format(time.RFC3339) + "'"
	}
	return &CaveatError{Err: ErrCaveatUnverified, Caveat: raw, Reason: reason}
}

// ValidUntil returns the earliest time caveat, or 0 if there is none.
func ValidUntil(caveats []Caveat) int64 {
	var min int64
	for _, c := range caveats {
		if c.Type == CaveatTime && (min == 0 || c.ValidUntil < min) {
			min = c.ValidUntil
		}
	}
	return min
}
