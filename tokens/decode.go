package tokens

// decodeMinted decodes claims spelled exactly as Mint writes them
// (json.Marshal of Claims: fields in order, no spaces, ASCII strings with
// no escapes, canonical integers, time caveats only) without reflection,
// which profiles of the cold path showed costing most of a verification.
// It reports false for anything else, valid JSON included, and the caller
// falls back to encoding/json; FuzzDecodeMinted holds the two to the same
// result wherever this one answers.
func decodeMinted(b []byte, c *Claims) bool {
	d := minted{b: b}
	d.lit(`{"sub":`)
	c.Subject = d.str()
	d.lit(`,"knd":`)
	c.Kind = Kind(d.known(string(Temporary), string(Named), string(Session)))
	d.lit(`,"typ":`)
	c.Type = Type(d.known(string(Access), string(Identity)))
	if d.opt(`,"gen":`) {
		c.Generation = uint64(d.int())
	}
	d.lit(`,"jti":`)
	c.ID = d.str()
	d.lit(`,"iat":`)
	c.IssuedAt = d.int()
	if d.opt(`,"exp":`) {
		c.ExpiresAt = d.int()
	}
	if d.opt(`,"cav":[`) {
		for {
			d.lit(`{"type":"time","validUntil":`)
			c.Caveats = append(c.Caveats, Caveat{Type: CaveatTime, ValidUntil: d.int()})
			d.lit(`}`)
			if !d.opt(`,`) {
				break
			}
		}
		d.lit(`]`)
	}
	if d.opt(`,"aut":`) {
		c.Tag = d.str()
	}
	d.lit(`}`)
	return d.ok && len(d.b) == 0
}

// minted consumes its input; the first mismatch clears ok and the rest
// of the calls do nothing.
type minted struct {
	b  []byte
	ok bool
}

func (d *minted) lit(s string) {
	if !d.opt(s) {
		d.fail()
	}
}

// opt consumes s if the input starts with it.
func (d *minted) opt(s string) bool {
	if d.b == nil || len(d.b) < len(s) || string(d.b[:len(s)]) != s {
		return false
	}
	d.b, d.ok = d.b[len(s):], true
	return true
}

func (d *minted) fail() { d.b, d.ok = nil, false }

// str reads a string of printable ASCII with no escapes: what
// encoding/json would decode to the same bytes.
func (d *minted) str() string { return string(d.raw()) }

// raw is str without the copy.
func (d *minted) raw() []byte {
	if len(d.b) == 0 || d.b[0] != '"' {
		d.fail()
		return nil
	}
	for i := 1; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			s := d.b[1:i]
			d.b = d.b[i+1:]
			return s
		case c < 0x20 || c >= 0x7f || c == '\\':
			d.fail()
			return nil
		}
	}
	d.fail()
	return nil
}

// known reads a string and returns the constant equal to it, if any, so
// that decoded tokens share it instead of each holding a copy.
func (d *minted) known(consts ...string) string {
	s := d.raw()
	for _, k := range consts {
		if string(s) == k {
			return k
		}
	}
	return string(s)
}

// int reads a non-negative integer in canonical form (no sign, no
// leading zero) of at most 18 digits, which cannot overflow an int64.
func (d *minted) int() int64 {
	n, i := int64(0), 0
	for ; i < len(d.b) && i < 19 && '0' <= d.b[i] && d.b[i] <= '9'; i++ {
		n = n*10 + int64(d.b[i]-'0')
	}
	if i == 0 || i > 18 || (i > 1 && d.b[0] == '0') {
		d.fail()
		return 0
	}
	d.b = d.b[i:]
	return n
}
