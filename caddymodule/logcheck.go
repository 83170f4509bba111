package caddymodule

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tokengate/tokengate/api/caller"
	"github.com/tokengate/tokengate/api/openpaas"
)

// The log check finds the logs that a gated server's requests reach and
// runs their own field filters over made-up requests holding a probe
// secret in every place a tokengate secret can be. Caddy does not show a
// module its logging config; it does give a module a logger over exactly
// the logs that take a given logger's entries (caddy.Context.Logger), and
// adding a field to a zap core makes each log's encoder marshal it (With
// encodes into a clone, writing nothing), handing a filter encoder's
// field filters to the field's marshaler.

// probeSecret stands for a token in the made-up requests.
const probeSecret = "tokengate-log-probe-secret"

// secretPlace is somewhere a request's log entry can hold a secret: a
// field of Caddy's request object, as its filter encoder names it, and
// spellings of the field as Caddy logs it, each holding probeSecret.
type secretPlace struct {
	what   string // for people
	field  string
	values []zapcore.Field
}

// secretPlaces are where the requests to the gates can carry a secret:
// X-Auth-Token and the gates' header sources, the reset link's token and
// the gates' query sources, the handoff token's path, the reset page's
// Referer.
func secretPlaces(gates []*Handler) (places []secretPlace, headers, queries []string) {
	headers, queries = slices.Clone(defaultSecretHeaders), []string{"token"}
	for _, g := range gates {
		for _, s := range g.configured {
			switch {
			case s.Kind == caller.Header && !slices.Contains(headers, s.Name):
				headers = append(headers, s.Name)
			case s.Kind == caller.Query && !slices.Contains(queries, s.Name):
				queries = append(queries, s.Name)
			}
		}
	}
	uris := func(us ...string) []zapcore.Field {
		fs := make([]zapcore.Field, len(us))
		for i, u := range us {
			fs[i] = zap.String("uri", u)
		}
		return fs
	}
	for _, h := range headers {
		places = append(places, secretPlace{"header " + h, "request>headers>" + h,
			[]zapcore.Field{zap.Array(h, caddyhttp.LoggableStringArray{probeSecret})}})
	}
	for _, q := range queries {
		places = append(places, secretPlace{"query " + q, "request>uri",
			uris("/x?"+q+"="+probeSecret, "/x?a=1&"+q+"="+probeSecret+"&b=2")})
	}
	for _, g := range gates {
		if g.Verify == nil {
			continue
		}
		// A forward-auth subrequest carries the original URI, and the
		// token of a query source in it, in a header.
		h := http.CanonicalHeaderKey(g.Verify.uriHeader())
		for _, s := range g.configured {
			if s.Kind == caller.Query {
				places = append(places, secretPlace{"header " + h + " query " + s.Name, "request>headers>" + h,
					[]zapcore.Field{zap.Array(h, caddyhttp.LoggableStringArray{"/x?" + s.Name + "=" + probeSecret,
						"/x?a=1&" + s.Name + "=" + probeSecret + "&b=2"})}})
			}
		}
	}
	places = append(places,
		secretPlace{"path " + openpaas.Prefix + "/<token>", "request>uri",
			uris(openpaas.Prefix+"/"+probeSecret, openpaas.Prefix+"/"+probeSecret+"/user?a=1")},
		secretPlace{"Referer query token", "request>headers>Referer",
			[]zapcore.Field{zap.Array("Referer", caddyhttp.LoggableStringArray{"https://example.com/reset-password?token=" + probeSecret})}})
	return places, headers[len(defaultSecretHeaders):], queries[1:]
}

// verifyURIHeaders lists the original-URI headers of the forward-auth
// gates with a query token source: their values hold tokens, and the log
// filter must redact them as it does the URI.
func verifyURIHeaders(gates []*Handler) []string {
	var out []string
	for _, g := range gates {
		if g.Verify == nil || !slices.ContainsFunc(g.configured, func(s caller.Source) bool { return s.Kind == caller.Query }) {
			continue
		}
		if h := http.CanonicalHeaderKey(g.Verify.uriHeader()); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// requestLoggers names the loggers that write srv's requests: its error
// log always (each entry carries the request), and with access logs on
// its access log, each per host as the server maps them (a log_name
// directive's names are decided per request, and not seen).
func requestLoggers(srv *caddyhttp.Server) []string {
	if srv.Logs == nil {
		return []string{"http.log.error"}
	}
	var names []string
	add := func(base, name string) {
		if name != "" {
			base += "." + name
		}
		if !slices.Contains(names, base) {
			names = append(names, base)
		}
	}
	def := srv.Logs.DefaultLoggerName
	add("http.log.error", def)
	if !srv.Logs.SkipUnmappedHosts {
		add("http.log.access", def)
	}
	for _, host := range slices.Sorted(maps.Keys(srv.Logs.LoggerNames)) {
		for _, n := range srv.Logs.LoggerNames[host] {
			add("http.log.access", n)
			add("http.log.error", n)
		}
	}
	return names
}

// unfilteredLogs returns the loggers of srv whose logs would write a
// secret, and the places they would write it from.
func unfilteredLogs(ctx caddy.Context, srv *caddyhttp.Server, places []secretPlace) (logs, leaks []string) {
	if srv.Logs != nil && srv.Logs.ShouldLogCredentials {
		leaks = append(leaks, "Authorization and Cookie headers (log_credentials is on)")
	}
	for _, name := range requestLoggers(srv) {
		leaked := false
		for _, enc := range encodersOf(ctx, name) {
			for _, p := range places {
				if !filters(enc, p) {
					leaked = true
					if !slices.Contains(leaks, p.what) {
						leaks = append(leaks, p.what)
					}
				}
			}
		}
		if leaked {
			logs = append(logs, name)
		}
	}
	return logs, leaks
}

// loggerName stands, where Caddy's logging wants a module, for a logger
// name: Logging.Logger takes the logs that take any of a module's
// entries.
type loggerName string

func (n loggerName) CaddyModule() caddy.ModuleInfo { return caddy.ModuleInfo{ID: caddy.ModuleID(n)} }

// encodersOf returns the encoders of the logs that take the entries of
// the logger called name. A log takes a module's entries if it takes
// those of any logger under its name; for a child of name no log names,
// that is exactly whether it takes name's own.
func encodersOf(ctx caddy.Context, name string) []zapcore.ObjectEncoder {
	p := new(encoderProbe)
	ctx.Logger(loggerName(name + ".tokengate-probe")).Core().With([]zapcore.Field{zap.Object("request", p)})
	return p.seen
}

// encoderProbe records the encoders it is marshaled into: a filter
// encoder hands itself on to the marshaler of an object field it does
// not filter whole.
type encoderProbe struct{ seen []zapcore.ObjectEncoder }

func (p *encoderProbe) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	p.seen = append(p.seen, enc)
	return nil
}

// filters reports whether enc keeps the probe secret in place out of
// the log: enc filters the field and its filter drops the secret from
// every spelling, or enc deletes an object holding the field.
func filters(enc zapcore.ObjectEncoder, p secretPlace) bool {
	var fe logging.FilterEncoder
	switch e := enc.(type) {
	case logging.FilterEncoder:
		fe = e
	case *logging.FilterEncoder:
		fe = *e
	default:
		return false
	}
	for key := p.field; ; {
		if f, ok := fe.Fields[key]; ok {
			if key == p.field {
				return !slices.ContainsFunc(p.values, func(v zapcore.Field) bool { return holdsSecret(f.Filter(v)) })
			}
			switch f.(type) {
			case logging.DeleteFilter, *logging.DeleteFilter:
				return true
			}
			return false
		}
		i := strings.LastIndex(key, ">")
		if i < 0 {
			return false
		}
		key = key[:i]
	}
}

// holdsSecret reports whether the field, as a log would write it, holds
// the probe secret.
func holdsSecret(f zapcore.Field) bool {
	enc := zapcore.NewMapObjectEncoder()
	f.AddTo(enc)
	return strings.Contains(fmt.Sprint(enc.Fields), probeSecret)
}
