package cli

import (
	"encoding/base64"
	"strings"

	"github.com/spf13/cobra"
)

// caveatFlags adds the flags that narrow an issued token, one per
// caveat type the gate enforces (README "Tokens that carry their own
// limits").
func caveatFlags(c *cobra.Command) {
	fs := c.Flags()
	fs.StringSlice("ip", nil, "Only from these addresses or CIDRs (ip caveat; repeatable)")
	fs.StringSlice("service", nil, "Only on routes with these service names, a trailing * a prefix (service caveat; repeatable)")
	fs.Bool("read-only", false, "Only GET, HEAD and OPTIONS (data.readonly caveat)")
	fs.StringSlice("path", nil, "Only under these paths (data.path caveat; repeatable)")
	fs.String("interface", "", "Only through this interface: rest, oneclient or graphsync (interface caveat)")
	fs.StringSlice("api", nil, "Only requests matching <service>/<create|get|update|delete|all>/<path glob> (api caveat; repeatable)")
	fs.StringSlice("consumer", nil, "Only when the request also carries a token of one of these users, or * for any (consumer caveat; repeatable)")
}

// caveats returns the caveats the flags ask for, in Onezone's JSON form;
// the admin API checks them.
func (c *client) caveats() []map[string]any {
	fs := c.cmd.Flags()
	var out []map[string]any
	list := func(flag string) []string {
		v, _ := fs.GetStringSlice(flag)
		return v
	}
	if ips := list("ip"); len(ips) > 0 {
		out = append(out, map[string]any{"type": "ip", "whitelist": ips})
	}
	if svcs := list("service"); len(svcs) > 0 {
		out = append(out, map[string]any{"type": "service", "whitelist": svcs})
	}
	if ro, _ := fs.GetBool("read-only"); ro {
		out = append(out, map[string]any{"type": "data.readonly"})
	}
	if paths := list("path"); len(paths) > 0 {
		enc := make([]string, len(paths))
		for i, p := range paths {
			enc[i] = base64.StdEncoding.EncodeToString([]byte(p)) // as Onezone sends them
		}
		out = append(out, map[string]any{"type": "data.path", "whitelist": enc})
	}
	if iface, _ := fs.GetString("interface"); iface != "" {
		out = append(out, map[string]any{"type": "interface", "interface": iface})
	}
	if apis := list("api"); len(apis) > 0 {
		out = append(out, map[string]any{"type": "api", "whitelist": apis})
	}
	if users := list("consumer"); len(users) > 0 {
		wl := make([]string, len(users))
		for i, u := range users {
			wl[i] = "usr-" + strings.TrimPrefix(u, "usr-")
		}
		out = append(out, map[string]any{"type": "consumer", "whitelist": wl})
	}
	return out
}
