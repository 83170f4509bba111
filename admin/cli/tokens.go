package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tokengate/tokengate/admin"
)

// token issue <user>: only the token, for T=$(...).
func tokenIssue(c *client, args []string) error {
	ttl, _ := c.cmd.Flags().GetString("ttl")
	b, err := c.call(http.MethodPost, userPath(args[0])+"/tokens/temporary", map[string]any{"ttl": ttl, "caveats": c.caveats()})
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
	b, err := c.call(http.MethodPost, namedPath(args[0], ""), map[string]any{"name": args[1], "caveats": c.caveats()})
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var resp struct {
		TokenID string `json:"token_id"`
		Token   string `json:"token"`
	}
	if err := decode(b, &resp); err != nil {
		return err
	}
	tw := table(c.out)
	fmt.Fprintf(tw, "token id:\t%s\ntoken:\t%s\n", resp.TokenID, resp.Token)
	return tw.Flush()
}

// named is a named token record as the admin API shows it.
type named = admin.NamedToken

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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, yesNo(t.Revoked),
			fmtTime(t.CreatedAt), dash(caveatCell(t.Caveats)))
	}
	return tw.Flush()
}

// namedID resolves a named token given by id or by name: an id of the
// user's first, else the one token of that name.
func (c *client) namedID(user, idOrName string) (string, error) {
	b, err := c.call(http.MethodGet, namedPath(user, ""), nil)
	if err != nil {
		return "", err
	}
	var list []named
	if err := decode(b, &list); err != nil {
		return "", err
	}
	for _, t := range list {
		if t.ID == idOrName {
			return t.ID, nil
		}
	}
	for _, t := range list {
		if t.Name == idOrName {
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("named token %q of user %q not found", idOrName, user)
}

// token named show <user> <token-id|name>
func namedShow(c *client, args []string) error {
	id, err := c.namedID(args[0], args[1])
	if err != nil {
		return err
	}
	b, err := c.call(http.MethodGet, namedPath(args[0], id), nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var t named
	if err := decode(b, &t); err != nil {
		return err
	}
	tw := table(c.out)
	for _, row := range [][2]string{
		{"id", t.ID}, {"name", t.Name}, {"revoked", yesNo(t.Revoked)},
		{"created", fmtTime(t.CreatedAt)}, {"caveats", caveatCell(t.Caveats)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], dash(row[1]))
	}
	return tw.Flush()
}

// namedPatch applies one change (the PATCH body, from the arguments) to
// a named token given by id or name and says what it did.
func namedPatch(body func(args []string) map[string]any, done string) runFunc {
	return func(c *client, args []string) error {
		id, err := c.namedID(args[0], args[1])
		if err != nil {
			return err
		}
		b, err := c.call(http.MethodPatch, namedPath(args[0], id), body(args))
		if err != nil {
			return err
		}
		if c.json {
			return c.raw(b)
		}
		_, err = fmt.Fprintf(c.out, "named token %s of user %s %s\n", id, args[0], done)
		return err
	}
}

// token named delete <user> <token-id|name>
func namedDelete(c *client, args []string) error {
	id, err := c.namedID(args[0], args[1])
	if err != nil {
		return err
	}
	if _, err := c.call(http.MethodDelete, namedPath(args[0], id), nil); err != nil || c.json {
		return err
	}
	_, err = fmt.Fprintf(c.out, "named token %s of user %s deleted\n", id, args[0])
	return err
}

// revoke --everything <user>: every credential kind at once.
func revokeEverything(c *client, user string) error {
	b, err := c.call(http.MethodPost, userPath(user)+"/revoke-everything", nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var r struct {
		Generation uint64 `json:"generation"`
		Named      int    `json:"named_revoked"`
		Sessions   int    `json:"sessions_ended"`
		Reset      bool   `json:"reset_revoked"`
	}
	if err := decode(b, &r); err != nil {
		return err
	}
	tw := table(c.out)
	fmt.Fprintf(tw, "generation:\t%d\nnamed tokens revoked:\t%d\nsessions ended:\t%d\nreset token revoked:\t%s\n",
		r.Generation, r.Named, r.Sessions, yesNo(r.Reset))
	return tw.Flush()
}

// revoke <user> [--everything]
func revoke(c *client, args []string) error {
	if all, _ := c.cmd.Flags().GetBool("everything"); all {
		return revokeEverything(c, args[0])
	}
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

// caveatCell shows a token's caveats as their JSON, "" for none.
func caveatCell(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if s == "[]" || s == "null" {
		return ""
	}
	return s
}
