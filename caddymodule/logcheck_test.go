package caddymodule

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap/zapcore"

	"github.com/tokengate/tokengate/api/caller"
)

// encoderHolder holds an encoder's JSON as Caddy's logs do.
type encoderHolder struct {
	EncoderRaw json.RawMessage `caddy:"namespace=caddy.logging.encoders inline_key=format"`
}

// filterEncoder loads the encoder of the default log of a Caddyfile
// whose global options hold log default { <body> }, as Caddy would.
func filterEncoder(t *testing.T, snippet []string, body string) zapcore.ObjectEncoder {
	t.Helper()
	src := strings.Join(snippet, "\n") + "\n{\n\tlog default {\n" + body + "\n\t}\n}\n"
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, _, err := adapter.Adapt([]byte(src), nil)
	if err != nil {
		t.Fatalf("adapting\n%s: %v", src, err)
	}
	var cfg struct {
		Logging struct {
			Logs map[string]struct {
				Encoder json.RawMessage `json:"encoder"`
			} `json:"logs"`
		} `json:"logging"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	raw := cfg.Logging.Logs["default"].Encoder
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	h := encoderHolder{raw}
	v, err := ctx.LoadModule(&h, "EncoderRaw")
	if err != nil {
		t.Fatal(err)
	}
	return v.(zapcore.ObjectEncoder)
}

// TestLogFilterSnippet: the snippet tokengate advises filters every
// place a secret can be, for the default sources and configured ones;
// lesser filters are caught.
func TestLogFilterSnippet(t *testing.T) {
	gates := []*Handler{{configured: caller.DefaultSources()}, {configured: caller.Sources{
		{Kind: caller.Header, Name: "X-Api-Key"}, {Kind: caller.Query, Name: "my.tok"}, {Kind: caller.Cookie, Name: "c"}}}}
	places, headers, queries := secretPlaces(gates)
	if !slices.Equal(headers, []string{"X-Api-Key"}) || !slices.Equal(queries, []string{"my.tok"}) {
		t.Fatalf("secretPlaces found headers %q, queries %q beyond the defaults", headers, queries)
	}
	var all []string
	for _, p := range places {
		all = append(all, p.what)
	}
	import1 := "\t\timport tokengate_log_filter"
	for _, tc := range []struct {
		name    string
		snippet []string
		body    string
		leaks   []string
	}{
		{"the advice", logFilterSnippet(headers, queries), import1, nil},
		{"the defaults' snippet misses the configured sources", logFilterSnippet(nil, nil), import1,
			[]string{"header X-Api-Key", "query my.tok"}},
		{"the README's old filter", nil, `		format filter {
			request>headers>X-Auth-Token delete
			request>uri query {
				delete access_token
				delete token
			}
			request>headers>Referer query {
				delete token
			}
		}`, []string{"header Macaroon", "header X-Onedata-Consumer-Token", "header X-Api-Key", "query my.tok", "path /api/authenticationtoken/<token>"}},
		{"a whole object deleted", nil, `		format filter {
			request>headers delete
			request>uri delete
		}`, nil},
		{"an object replaced", nil, `		format filter {
			request>headers replace x
			request>uri delete
		}`, []string{"header X-Auth-Token", "header Macaroon", "header X-Onedata-Consumer-Token", "header X-Api-Key", "Referer query token"}},
		{"no filter", nil, "\t\tformat json", all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := filterEncoder(t, tc.snippet, tc.body)
			var leaks []string
			for _, p := range places {
				if !filters(enc, p) {
					leaks = append(leaks, p.what)
				}
			}
			if !slices.Equal(leaks, tc.leaks) {
				t.Errorf("unfiltered: %q, want %q", leaks, tc.leaks)
			}
		})
	}
}

// TestLogFilterSnippetVerify: a forward-auth gate with a query token
// source gets its token in the original-URI header, which the advice
// then filters too.
func TestLogFilterSnippetVerify(t *testing.T) {
	query := caller.Sources{{Kind: caller.Query, Name: "access_token"}}
	gates := []*Handler{
		{configured: query, Verify: &VerifyConfig{URIHeader: "X-Original-URI"}},
		{configured: query, Verify: &VerifyConfig{}},
		{configured: caller.DefaultSources(), Verify: &VerifyConfig{MethodHeader: "X-M", URIHeader: "X-Ignored"}},
	}
	places, headers, queries := secretPlaces(gates)
	uris := verifyURIHeaders(gates)
	if !slices.Equal(uris, []string{"X-Original-Uri", "X-Forwarded-Uri"}) {
		t.Fatalf("verifyURIHeaders = %q", uris)
	}
	import1 := "\t\timport tokengate_log_filter"
	for _, tc := range []struct {
		name    string
		snippet []string
		leaks   []string
	}{
		{"the advice", logFilterSnippet(headers, queries, uris...), nil},
		{"without the URI headers", logFilterSnippet(headers, queries),
			[]string{"header X-Original-Uri query access_token", "header X-Forwarded-Uri query access_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := filterEncoder(t, tc.snippet, import1)
			var leaks []string
			for _, p := range places {
				if !filters(enc, p) {
					leaks = append(leaks, p.what)
				}
			}
			if !slices.Equal(leaks, tc.leaks) {
				t.Errorf("unfiltered: %q, want %q", leaks, tc.leaks)
			}
		})
	}
}

func TestRequestLoggers(t *testing.T) {
	for _, tc := range []struct {
		name string
		logs *caddyhttp.ServerLogConfig
		want []string
	}{
		{"no access logs", nil, []string{"http.log.error"}},
		{"access logs, no names", &caddyhttp.ServerLogConfig{}, []string{"http.log.error", "http.log.access"}},
		{"a site's log", &caddyhttp.ServerLogConfig{LoggerNames: map[string]caddyhttp.StringArray{"a.test": {"log0"}, "b.test": {"log1", ""}}},
			[]string{"http.log.error", "http.log.access", "http.log.access.log0", "http.log.error.log0",
				"http.log.access.log1", "http.log.error.log1"}},
		{"unmapped hosts skipped", &caddyhttp.ServerLogConfig{SkipUnmappedHosts: true, LoggerNames: map[string]caddyhttp.StringArray{"a.test": {"log0"}}},
			[]string{"http.log.error", "http.log.access.log0", "http.log.error.log0"}},
		{"a default logger name", &caddyhttp.ServerLogConfig{DefaultLoggerName: "main"},
			[]string{"http.log.error.main", "http.log.access.main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := requestLoggers(&caddyhttp.Server{Logs: tc.logs}); !slices.Equal(got, tc.want) {
				t.Errorf("requestLoggers = %q, want %q", got, tc.want)
			}
		})
	}
}
