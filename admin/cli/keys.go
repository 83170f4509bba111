package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/auth"
)

// key rotate: prints the new key's id, so that KID=$(caddy tokengate key
// rotate) works.
func keyRotate(c *client, _ []string) error {
	b, err := c.call(http.MethodPost, admin.Prefix+"keys", nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var k struct{ ID string }
	if err := decode(b, &k); err != nil || k.ID == "" {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintln(c.out, k.ID)
	return err
}

// key list
func keyList(c *client, _ []string) error {
	b, err := c.call(http.MethodGet, admin.Prefix+"keys", nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var keys []auth.KeyInfo
	if err := decode(b, &keys); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	tw := table(c.out)
	fmt.Fprintln(tw, "ID\tSOURCE\tSIGNS")
	for _, k := range keys {
		signs := ""
		if k.Newest {
			signs = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Source, signs)
	}
	return tw.Flush()
}

// key remove <id>
func keyRemove(c *client, args []string) error {
	b, err := c.call(http.MethodDelete, admin.Prefix+"keys/"+url.PathEscape(args[0]), nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	_, err = fmt.Fprintf(c.out, "removed %s\n", args[0])
	return err
}
