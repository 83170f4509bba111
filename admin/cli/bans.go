package cli

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/tokengate/tokengate/admin"
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

// bans lift <ip-or-user>: an argument that parses as an IP address is a
// client; anything else a user id.
func bansLift(c *client, args []string) error {
	key := "user:" + args[0]
	if _, err := netip.ParseAddr(args[0]); err == nil {
		key = "ip:" + args[0]
	}
	if _, err := c.call(http.MethodDelete, admin.Prefix+"bans/"+url.PathEscape(key), nil); err != nil || c.json {
		return err
	}
	_, err := fmt.Fprintf(c.out, "lifted %s\n", key)
	return err
}
