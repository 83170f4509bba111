package caller

import (
	"net/http"
	"net/url"
)

// FromOtherSite reports whether a browser marked the request as made by
// another site: Sec-Fetch-Site: cross-site, or an Origin (or, when the
// browser sent neither, a Referer) whose host is not the request's. Such
// a request (an <img> or a link on any web page) must not cost the
// visitor anything: it neither counts against the client's brute-force
// budget nor ends the visitor's session. Unlike CrossSite, which guards
// state changes, a sibling subdomain (same-site) and a client that sends
// none of these headers count as this site, and behave as before.
func FromOtherSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site":
		return true
	case "same-origin", "same-site", "none":
		return false
	}
	from := r.Header.Get("Origin")
	if from == "" || from == "null" {
		from = r.Header.Get("Referer")
	}
	if from == "" || from == "null" {
		return false
	}
	u, err := url.Parse(from)
	return err != nil || u.Host != r.Host
}
