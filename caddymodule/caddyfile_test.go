package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

const hash = "$2a$04$Yc5wKJ6s6Kk1g3P6Qn9pQe5r5eJ0L7cW2QxYt0H8b1yqI8m2yW9xG"

func TestGlobalOption(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        string // JSON of the app, or the error's substring after "!"
	}{
		{"bare", `tokengate`, `{}`},
		{"full", `tokengate {
			store bolt /var/lib/tg.db
			key {env.TOKENGATE_KEY}
			temporary_max_ttl 1h
			cache_size 32MiB
			session_cookie sid
			session_ttl 8h
			authentication_token_ttl 2m
			user alice {
				password ` + hash + `
				name "Alice Example"
				email alice@example.com
				role Editor
			}
		}`, `{"store":{"module":"bolt","path":"/var/lib/tg.db"},"key":"{env.TOKENGATE_KEY}","temporary_max_ttl":3600000000000,"cache_size":33554432,"session_cookie":"sid","session_ttl":28800000000000,"authentication_token_ttl":120000000000,"users":[{"id":"alice","password":"` + hash + `","name":"Alice Example","email":"alice@example.com","role":"Editor"}]}`},
		{"key list", `tokengate {
			key {env.TG_KEY_NEW} {file./run/secrets/tg_old}
		}`, `{"keys":["{env.TG_KEY_NEW}","{file./run/secrets/tg_old}"]}`},
		{"key dir", `tokengate {
			key_dir /etc/tokengate/keys
		}`, `{"key_dir":"/etc/tokengate/keys"}`},
		{"key without value", "tokengate {\n\tkey\n}", `!wrong argument count`},
		{"default bolt path", `tokengate {
			store bolt
		}`, `{"store":{"module":"bolt"}}`},
		{"redis", `tokengate {
			store redis {
				address 127.0.0.1:6379 127.0.0.1:6380
				username tg
				password {env.REDIS_PASSWORD}
				db 2
				tls
				key_prefix tg1:
			}
			key {env.TOKENGATE_KEY}
			max_staleness 1s
		}`, `{"store":{"module":"redis","addresses":["127.0.0.1:6379","127.0.0.1:6380"],"username":"tg","password":"{env.REDIS_PASSWORD}","db":2,"tls":true,"key_prefix":"tg1:"},"key":"{env.TOKENGATE_KEY}","max_staleness":1000000000}`},
		{"redis with TLS files and replication waits", `tokengate {
			store redis {
				address sentinel:26379
				master_name m
				sentinel_password {env.SENTINEL_PASSWORD}
				wait_replicas 1
				wait_timeout 2s
				tls {
					ca /etc/redis/ca.pem
					cert /etc/tokengate/client.pem
					key /etc/tokengate/client.key
					server_name redis.internal
					insecure_skip_verify
				}
			}
		}`, `{"store":{"module":"redis","addresses":["sentinel:26379"],"tls":{"ca":"/etc/redis/ca.pem","cert":"/etc/tokengate/client.pem","key":"/etc/tokengate/client.key","server_name":"redis.internal","insecure_skip_verify":true},"master_name":"m","sentinel_password":"{env.SENTINEL_PASSWORD}","wait_replicas":1,"wait_timeout":2000000000}}`},
		{"redis tls bad option", "tokengate {\n\tstore redis {\n\t\taddress a:1\n\t\ttls {\n\t\t\tcafile x\n\t\t}\n\t}\n}", `!unrecognized tls option "cafile"`},
		{"redis bad wait_replicas", "tokengate {\n\tstore redis {\n\t\taddress a:1\n\t\twait_replicas -1\n\t}\n}", `!bad wait_replicas "-1"`},
		{"redis bad wait_timeout", "tokengate {\n\tstore redis {\n\t\taddress a:1\n\t\twait_timeout 0s\n\t}\n}", `!bad wait_timeout "0s"`},
		{"redis without address", "tokengate {\n\tstore redis {\n\t\tdb 1\n\t}\n}", `!needs at least one address`},
		{"redis bad option", "tokengate {\n\tstore redis {\n\t\tcluster yes\n\t}\n}", `!unrecognized redis option "cluster"`},
		{"unknown option", "tokengate {\n\tbogus 1\n}", `!unrecognized tokengate option "bogus"`},
		{"tokens_admin_role", "tokengate {\n\ttokens_admin_role admin\n}", `{"tokens_admin_role":"admin"}`},
		{"session_cookie_domain", "tokengate {\n\tsession_cookie_domain example.com\n}", `{"session_cookie_domain":"example.com"}`},
		{"session_cookie_domain bare", "tokengate {\n\tsession_cookie_domain\n}", "!wrong argument count"},
		{"tokens_admin_role bare", "tokengate {\n\ttokens_admin_role\n}", "!wrong argument count"},
		{"assertion options", "tokengate {\n\tassertion_key_rotation 1h\n\tassertion_issuer https://auth.example.com\n}",
			`{"assertion_key_rotation":3600000000000,"assertion_issuer":"https://auth.example.com"}`},
		{"bad assertion_key_rotation", "tokengate {\n\tassertion_key_rotation never\n}", `!bad assertion_key_rotation`},
		{"tokens_admin_role two", "tokengate {\n\ttokens_admin_role a b\n}", "!wrong argument count"},
		{"unknown store", "tokengate {\n\tstore mongo\n}", `!unknown store "mongo" (this build has: bolt, redis`},
		{"store twice", "tokengate {\n\tstore bolt /a.db\n\tstore bolt /b.db\n}", `!store given twice`},
		{"bolt with a block", "tokengate {\n\tstore bolt {\n\t\tpath /a.db\n\t}\n}", `!store bolt takes no block`},
		{"bad duration", "tokengate {\n\ttemporary_max_ttl soon\n}", `!bad temporary_max_ttl`},
		{"negative duration", "tokengate {\n\ttemporary_max_ttl -1h\n}", `!bad temporary_max_ttl`},
		{"bad session ttl", "tokengate {\n\tsession_ttl 0s\n}", `!bad session_ttl`},
		// Issue 14, finding 1: past time.Duration, or past a century.
		{"duration past time.Duration", "tokengate {\n\ttemporary_max_ttl 99999999999h\n}",
			`!bad temporary_max_ttl "99999999999h": want a positive duration of at most 876000h0m0s (100 years)`},
		{"days past time.Duration", "tokengate {\n\tsession_ttl 1e300d\n}", `!bad session_ttl "1e300d": want a positive duration`},
		{"a century and an hour", "tokengate {\n\treset_token_ttl 876001h\n}", `!bad reset_token_ttl "876001h"`},
		{"a century", "tokengate {\n\ttemporary_max_ttl 36500d\n}", `{"temporary_max_ttl":3153600000000000000}`},
		{"window past time.Duration", "tokengate {\n\tfailure_budget 5 99999999999h\n}", `!bad failure_budget window "99999999999h"`},
		{"bad size", "tokengate {\n\tcache_size lots\n}", `!bad cache_size`},
		{"user without password", "tokengate {\n\tuser bob {\n\t\tname Bob\n\t}\n}", `!password hash required`},
		{"password not a hash", "tokengate {\n\tuser bob {\n\t\tpassword hunter2\n\t}\n}", `!must be a hash from caddy hash-password`},
		// Issue 14, finding 2: one wrong password against these killed Caddy.
		{"costly argon2id hash", "tokengate {\n\tuser alice {\n\t\tpassword $argon2id$v=19$m=4294967295,t=1,p=1$+3WVTYE4cI8lRSn/xyVmyg$T+8ngZLt1xpTJlxmqjCc+rtSqlLbEOp61CciE20avvw\n\t}\n}",
			`!user alice: password hash costs too much to check: argon2id m=4294967295,t=1,p=1 is over m=1048576 (KiB, 1 GiB), t=10 or p=16`},
		{"costly bcrypt hash", "tokengate {\n\tuser alice {\n\t\tpassword " + strings.Replace(hash, "$04$", "$17$", 1) + "\n\t}\n}",
			`!user alice: password hash costs too much to check: bcrypt cost 17 is over 16`},
		{"unknown user option", "tokengate {\n\tuser bob {\n\t\tpassword " + hash + "\n\t\tshoe 9\n\t}\n}", `!unrecognized user option "shoe"`},
		{"key without value", "tokengate {\n\tkey\n}", `!wrong argument count`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseGlobalOption(caddyfile.NewTestDispenser(tc.input), nil)
			if want, isErr := strings.CutPrefix(tc.want, "!"); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got error %v, want one containing %q", err, want)
				}
				if !strings.Contains(err.Error(), "Testfile:") {
					t.Errorf("error %q does not name the file and line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := string(v.(httpcaddyfile.App).Value)
			if !jsonEqual(t, got, tc.want) {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCaddyfileDirective(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"bare", `tokengate`, `{}`},
		{"all", `tokengate {
			token_source header X-Api-Token
			token_source bearer
			token_source cookie tg
			token_source query access_token
			forward_token
			logout_path /signout
			handle_errors
		}`, `{"token_sources":["header:X-Api-Token","bearer","cookie:tg","query:access_token"],"forward_token":true,"logout_path":"/signout","handle_errors":true}`},
		{"bad source", "tokengate {\n\ttoken_source carrier pigeon\n}", "!want header:<name>"},
		{"source without name", "tokengate {\n\ttoken_source header\n}", "!wrong argument count"},
		{"unknown", "tokengate {\n\tlogin_page /x\n}", `!unrecognized tokengate subdirective "login_page"`},
		{"argument", "tokengate now", `!unrecognized tokengate argument "now": want optional or verify`},
		{"bare pages", "tokengate {\n\tpages\n}", `{"pages":{}}`},
		{"pages", `tokengate {
			pages {
				login /signin
				account /me
				reset /reset
				templates /etc/tokengate/templates
			}
		}`, `{"pages":{"login":"/signin","account":"/me","reset":"/reset","templates":"/etc/tokengate/templates"}}`},
		{"pages argument", "tokengate {\n\tpages on\n}", "!wrong argument count"},
		{"pages unknown option", "tokengate {\n\tpages {\n\t\tlogout /x\n\t}\n}", `!unrecognized pages option "logout"`},
		{"pages option without value", "tokengate {\n\tpages {\n\t\tlogin\n\t}\n}", "!wrong argument count"},
		{"login_redirect", "tokengate {\n\tlogin_redirect /auth/login\n}", `{"login_redirect":"/auth/login"}`},
		{"bare login_redirect", "tokengate {\n\tlogin_redirect\n}", `{"login_redirect":"/login"}`},
		{"bare login_redirect to the pages' login", `tokengate {
			login_redirect
			pages {
				login /signin
			}
		}`, `{"login_redirect":"/signin","pages":{"login":"/signin"}}`},
		{"pages allowed_redirect_hosts", "tokengate {\n\tpages {\n\t\tallowed_redirect_hosts app.example.com *.apps.example.com\n\t\tallowed_redirect_hosts wiki.example.com\n\t}\n}",
			`{"pages":{"allowed_redirect_hosts":["app.example.com","*.apps.example.com","wiki.example.com"]}}`},
		{"pages allowed_redirect_hosts bare", "tokengate {\n\tpages {\n\t\tallowed_redirect_hosts\n\t}\n}", "!wrong argument count"},
		{"login_redirect URL", "tokengate {\n\tlogin_redirect https://auth.example.com/login\n}", `{"login_redirect":"https://auth.example.com/login"}`},
		{"login_redirect arguments", "tokengate {\n\tlogin_redirect /a /b\n}", "!wrong argument count"},
		{"session_cookie_secure always", "tokengate {\n\tsession_cookie_secure always\n}", `{"session_cookie_secure":"always"}`},
		{"session_cookie_secure auto", "tokengate {\n\tsession_cookie_secure auto\n}", `{"session_cookie_secure":"auto"}`},
		{"session_cookie_secure bad", "tokengate {\n\tsession_cookie_secure yes\n}", `!session_cookie_secure "yes": want auto or always`},
		{"session_cookie_secure bare", "tokengate {\n\tsession_cookie_secure\n}", "!wrong argument count"},
		{"service", "tokengate {\n\tservice wiki\n}", `{"service":"wiki"}`},
		{"service bare", "tokengate {\n\tservice\n}", "!wrong argument count"},
		{"service two names", "tokengate {\n\tservice wiki grafana\n}", "!wrong argument count"},
		{"optional", "tokengate {\n\toptional\n}", `{"optional":true}`},
		{"optional argument", "tokengate optional", `{"optional":true}`},
		{"optional argument with a block", "tokengate optional {\n\tservice wiki\n}", `{"optional":true,"service":"wiki"}`},
		{"optional with a value", "tokengate {\n\toptional yes\n}", "!wrong argument count"},
		{"bare verify", "tokengate {\n\tverify\n}", `{"verify":{}}`},
		{"verify argument", "tokengate verify", `{"verify":{}}`},
		{"verify with optional", "tokengate verify {\n\toptional\n}", `{"verify":{},"optional":true}`},
		{"verify for nginx", `tokengate {
			verify {
				method_header X-Original-Method
				uri_header X-Original-URI
				host_header X-Forwarded-Host
				hosts wiki.example.com grafana.example.com
			}
		}`, `{"verify":{"method_header":"X-Original-Method","uri_header":"X-Original-URI","host_header":"X-Forwarded-Host","hosts":["wiki.example.com","grafana.example.com"]}}`},
		{"verify hosts without host_header", "tokengate {\n\tverify {\n\t\thosts a.example\n\t}\n}", "!hosts needs host_header"},
		{"verify bad header", "tokengate {\n\tverify {\n\t\turi_header \"X:Y\"\n\t}\n}", `!bad uri_header "X:Y"`},
		{"verify unknown option", "tokengate {\n\tverify {\n\t\ttrust all\n\t}\n}", `!unrecognized verify option "trust"`},
		{"unknown argument", "tokengate public", `!unrecognized tokengate argument "public"`},
		{"two arguments", "tokengate optional verify", "!wrong argument count"},
		{"bare assertion", "tokengate {\n\tassertion\n}", `{"assertion":{}}`},
		{"assertion", `tokengate {
			assertion {
				header X-Jwt-Assertion
				ttl 2m
				algorithm ES256
			}
		}`, `{"assertion":{"header":"X-Jwt-Assertion","ttl":120000000000,"algorithm":"ES256"}}`},
		{"assertion bad algorithm", "tokengate {\n\tassertion {\n\t\talgorithm RS256\n\t}\n}", "!want EdDSA or ES256"},
		{"assertion unknown option", "tokengate {\n\tassertion {\n\t\taudience x\n\t}\n}", `!unrecognized assertion option "audience"`},
		{"assertion argument", "tokengate {\n\tassertion on\n}", "!wrong argument count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if want, isErr := strings.CutPrefix(tc.want, "!"); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got error %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(h)
			if !jsonEqual(t, string(got), tc.want) {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

func TestIsIdentityHeader(t *testing.T) {
	for k, want := range map[string]bool{
		"X-Auth-User-Id":    true,
		"x-auth-user-email": true,
		"X_Auth_User_Id":    true,
		"X-AUTH-USER-ROLE":  true,
		"x_auth_user_name":  true,
		"X-Auth-User":       true,
		"X-Auth-Token":      false,
		"X-Auth-Use":        false,
		"Authorization":     false,
		"X-Forwarded-User":  false,
	} {
		if got := isIdentityHeader(k); got != want {
			t.Errorf("isIdentityHeader(%q) = %v, want %v", k, got, want)
		}
	}
}
