package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// token issue <user>: only the token, for T=$(...).
func tokenIssue(c *client, args []string) error {
	ttl, _ := c.cmd.Flags().GetString("ttl")
	b, err := c.call(http.MethodPost, userPath(args[0])+"/tokens/temporary", map[string]string{"ttl": ttl})
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.Token == "" {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintln(c.out, resp.Token)
	return err
}

// token named create <user> <name>
func namedCreate(c *client, args []string) error {
	b, err := c.call(http.MethodPost, namedPath(args[0], ""), map[string]string{"name": args[1]})
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var resp struct {
		TokenID string `json:"tokenId"`
		Token   string `json:"token"`
	}
	if err := decode(b, &resp); err != nil {
		return err
	}
	tw := table(c.out)
	fmt.Fprintf(tw, "token id:\t%s\ntoken:\t%s\n", resp.TokenID, resp.Token)
	return tw.Flush()
}

// named is a named token record as the API shows it (Onezone's form).
type named struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Caveats  json.RawMessage `json:"caveats"`
	Revoked  bool            `json:"revoked"`
	Metadata struct {
		CreationTime int64 `json:"creationTime"`
	} `json:"metadata"`
}

// token named list <user>
func namedList(c *client, args []string) error {
	b, err := c.call(http.MethodGet, namedPath(args[0], ""), nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var list []named
	if err := decode(b, &list); err != nil {
		return err
	}
	tw := table(c.out)
	fmt.Fprintln(tw, "ID\tNAME\tREVOKED\tCREATED\tCAVEATS")
	for _, t := range list {
		caveats := string(bytes.TrimSpace(t.Caveats))
		if caveats == "" || caveats == "[]" || caveats == "null" {
			caveats = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, yesNo(t.Revoked),
			fmtTime(time.Unix(t.Metadata.CreationTime, 0)), caveats)
	}
	return tw.Flush()
}

// token named revoke <user> <token-id>
func namedRevoke(c *client, args []string) error {
	b, err := c.call(http.MethodPatch, namedPath(args[0], args[1]), map[string]bool{"revoked": true})
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	_, err = fmt.Fprintf(c.out, "named token %s of user %s revoked\n", args[1], args[0])
	return err
}

// token named delete <user> <token-id>
func namedDelete(c *client, args []string) error {
	if _, err := c.call(http.MethodDelete, namedPath(args[0], args[1]), nil); err != nil || c.json {
		return err
	}
	_, err := fmt.Fprintf(c.out, "named token %s of user %s deleted\n", args[1], args[0])
	return err
}

// revoke <user>
func revoke(c *client, args []string) error {
	return c.generation(http.MethodDelete, args[0])
}

// generation <user>
func generation(c *client, args []string) error {
	return c.generation(http.MethodGet, args[0])
}

// generation reads or bumps the temporary-token generation and prints it.
func (c *client) generation(method, user string) error {
	b, err := c.call(method, userPath(user)+"/tokens/temporary", nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var resp struct {
		Generation *uint64 `json:"generation"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.Generation == nil {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintln(c.out, *resp.Generation)
	return err
}
