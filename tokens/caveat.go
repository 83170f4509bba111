package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Caveat types tokengate understands. Onezone knows more (service,
// consumer, api, data.*); tokengate refuses those at creation rather than
// issuing a token whose restriction it would not enforce.
const (
	CaveatTime      = "time"
	CaveatIP        = "ip"
	CaveatInterface = "interface"
)

// Interfaces a request can arrive through, as Onezone names them. The gate
// and the REST endpoints are "rest".
var interfaces = []string{"rest", "oneclient", "graphsync"}

// Caveat is one restriction on a token, in Onezone's JSON form.
type Caveat struct {
	Type       string   `json:"type"`
	ValidUntil int64    `json:"validUntil,omitempty"`
	Whitelist  []string `json:"whitelist,omitempty"`
	Interface  string   `json:"interface,omitempty"`

	nets []netip.Prefix // compiled Whitelist
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
			return nil, &CaveatError{Err: ErrBadCaveat, Caveat: bytes.Clone(e), Reason: err.Error()}
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
	want := map[string]string{CaveatTime: "validUntil", CaveatIP: "whitelist", CaveatInterface: "interface"}[c.Type]
	if want == "" {
		return Caveat{}, fmt.Errorf("unknown caveat type %q", c.Type)
	}
	if len(fields) != 2 || fields[want] == nil {
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

// check reports whether the caveat holds for r.
func (c *Caveat) check(r *Request) bool {
	switch c.Type {
	case CaveatTime:
		return r.Now.Unix() < c.ValidUntil
	case CaveatIP:
		ip := r.ClientIP.Unmap()
		for _, n := range c.nets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	case CaveatInterface:
		return r.Interface == c.Interface
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
