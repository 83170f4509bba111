package tokens

import (
	"fmt"
	"strings"
)

// A consumer caveat names who may use the token: a request passes only
// when it also carries a valid token of a whitelisted consumer
// (x-onedata-consumer-token), as Onezone's consumer tokens work. Onezone
// whitelists users ("usr-<id>"), groups ("grp-…") and providers
// ("prv-…"); tokengate has users only, so "usr-<id>" and "usr-*" (any
// user with a valid token) are the entries it accepts.

// ConsumerUserPrefix begins a consumer whitelist entry naming a user.
const ConsumerUserPrefix = "usr-"

func (c *Caveat) compileConsumer() error {
	if len(c.Whitelist) == 0 {
		return fmt.Errorf("whitelist must not be empty")
	}
	for _, s := range c.Whitelist {
		id, ok := strings.CutPrefix(s, ConsumerUserPrefix)
		if !ok || id == "" || (strings.Contains(id, "*") && id != "*") {
			return fmt.Errorf("consumer %q: tokengate has users only, want usr-<id> or usr-*", s)
		}
	}
	return nil
}

func (c *Caveat) checkConsumer(r *Request) bool {
	if r.Consumer == "" {
		return false
	}
	for _, s := range c.Whitelist {
		// Cut, not concatenated: no allocation.
		if id, ok := strings.CutPrefix(s, ConsumerUserPrefix); ok && (id == "*" || id == r.Consumer) {
			return true
		}
	}
	return false
}

// HasConsumer reports whether the caveats include a consumer caveat: only
// then is a request's consumer token worth verifying.
func HasConsumer(caveats []Caveat) bool {
	for i := range caveats {
		if caveats[i].Type == CaveatConsumer {
			return true
		}
	}
	return false
}
