package cli

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
)

// bans list
func bansList(c *client, _ []string) error {
	b, err := c.call(http.MethodGet, admin.Prefix+"bans", nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var bans []admin.Ban
	if err := decode(b, &bans); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	tw := table(c.out)
	fmt.Fprintln(tw, "KEY\tFAILURES\tUNTIL")
	for _, ban := range bans {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", ban.Key, ban.Count, fmtTime(ban.Until))
	}
	return tw.Flush()
}

// bans lift <key>: a key as bans list prints it (ip:…, user:…), an IP
// address in any spelling, or else a user id. It prints the key the
// admin API lifted, and fails (with the API's one line) when the key
// has no failures to lift.
func bansLift(c *client, args []string) error {
	key := args[0]
	if _, err := netip.ParseAddr(key); err != nil && !strings.HasPrefix(key, "ip:") && !strings.HasPrefix(key, "user:") {
		key = auth.UserKey(key)
	}
	b, err := c.call(http.MethodDelete, admin.Prefix+"bans/"+url.PathEscape(key), nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var lifted struct{ Key string }
	if err := decode(b, &lifted); err != nil || lifted.Key == "" {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintf(c.out, "lifted %s\n", lifted.Key)
	return err
}

// bans add --ip <addr> | --user <name> [--duration 1h] [--reason <text>]
func bansAdd(c *client, _ []string) error {
	fs := c.cmd.Flags()
	ip, _ := fs.GetString("ip")
	user, _ := fs.GetString("user")
	d, _ := fs.GetString("duration")
	reason, _ := fs.GetString("reason")
	if (ip == "") == (user == "") {
		return fmt.Errorf("give exactly one of --ip, --user")
	}
	b, err := c.call(http.MethodPost, admin.Prefix+"bans", map[string]string{"ip": ip, "user": user, "duration": d, "reason": reason})
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var ban admin.Ban
	if err := decode(b, &ban); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintf(c.out, "banned %s until %s\n", ban.Key, fmtTime(ban.Until))
	return err
}
