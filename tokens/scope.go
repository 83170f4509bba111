package tokens

import "slices"

// DataScope is what a token's caveats leave of the data it may reach,
// as Onezone's infer_access_token_scope reports it.
type DataScope struct {
	// Readonly: a data.readonly caveat allows only reads.
	Readonly bool
	// Paths are the decoded path prefixes every data.path caveat allows
	// (their intersection); nil when no data.path caveat limits them.
	Paths []string
}

// ScopeOf returns the data scope of compiled caveats. Several data.path
// caveats must all hold, so the scope is their intersection: of two
// prefixes one of which holds the other, the narrower.
func ScopeOf(caveats []Caveat) DataScope {
	var s DataScope
	first := true
	for _, c := range caveats {
		switch c.kind {
		case kindReadonly:
			s.Readonly = true
		case kindPath:
			if first {
				s.Paths, first = slices.Clone(c.paths), false
				continue
			}
			var both []string
			for _, a := range s.Paths {
				for _, b := range c.paths {
					switch {
					case underPath(a, b):
						both = append(both, a)
					case underPath(b, a):
						both = append(both, b)
					}
				}
			}
			slices.Sort(both)
			s.Paths = slices.Compact(both)
			if s.Paths == nil {
				s.Paths = []string{} // limited to nothing, not unlimited
			}
		}
	}
	return s
}
