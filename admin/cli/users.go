package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/admin"
)

// password returns the password the flags give, if any.
func (c *client) password(required bool) (*string, error) {
	fs := c.cmd.Flags()
	p, _ := fs.GetString("password")
	fromStdin, _ := fs.GetBool("password-stdin")
	set := fs.Changed("password")
	switch {
	case set && fromStdin:
		return nil, errors.New("give either --password or --password-stdin, not both")
	case set:
		if p == "" {
			return nil, errors.New("--password must not be empty")
		}
		return &p, nil
	case fromStdin:
		line, err := bufio.NewReader(c.cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the password from stdin: %v", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return nil, errors.New("no password on stdin")
		}
		return &line, nil
	case required:
		return nil, errors.New("give the password with --password-stdin or --password")
	}
	return nil, nil
}

// configCell is the CONFIG column: whether the config declares the user,
// or declared it and no longer does.
func configCell(u admin.User) string {
	if u.Orphaned {
		return "orphaned"
	}
	return yesNo(u.ConfigManaged)
}

// printUser prints one user, or its JSON.
func (c *client) printUser(b []byte) error {
	if c.json {
		return c.raw(b)
	}
	var u admin.User
	if err := decode(b, &u); err != nil {
		return err
	}
	tw := table(c.out)
	for _, row := range [][2]string{
		{"id", u.ID}, {"username", u.Username}, {"name", u.Name}, {"email", u.Email},
		{"role", u.Role}, {"blocked", yesNo(u.Blocked)}, {"config managed", yesNo(u.ConfigManaged)},
		{"orphaned", yesNo(u.Orphaned)}, {"created by", u.CreatedBy}, {"created at", fmtTime(u.CreatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], dash(row[1]))
	}
	if u.ResetLink != "" {
		// A user added without a password sets one with this link.
		fmt.Fprintf(tw, "welcome link:\t%s\n", u.ResetLink)
	}
	return tw.Flush()
}

// user add <id>
func userAdd(c *client, args []string) error {
	pw, err := c.password(false)
	if err != nil {
		return err
	}
	req := map[string]any{"id": args[0]}
	if pw != nil {
		req["password"] = *pw
	}
	fs := c.cmd.Flags()
	for _, f := range []string{"username", "name", "email", "role"} {
		if fs.Changed(f) {
			v, _ := fs.GetString(f)
			req[f] = v
		}
	}
	b, err := c.call(http.MethodPost, admin.Prefix+"users", req)
	if err != nil {
		return err
	}
	return c.printUser(b)
}

// user update <id>: the flags given, as the API's PATCH.
func userUpdate(c *client, args []string) error {
	req := map[string]any{}
	fs := c.cmd.Flags()
	for _, f := range []string{"username", "name", "email", "role"} {
		if fs.Changed(f) {
			v, _ := fs.GetString(f)
			req[f] = v
		}
	}
	if len(req) == 0 {
		return errors.New("nothing to change: give at least one of --username, --name, --email, --role")
	}
	b, err := c.call(http.MethodPatch, userPath(args[0]), req)
	if err != nil {
		return err
	}
	return c.printUser(b)
}

// user list
func userList(c *client, _ []string) error {
	b, err := c.call(http.MethodGet, admin.Prefix+"users", nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var users []admin.User
	if err := decode(b, &users); err != nil {
		return err
	}
	tw := table(c.out)
	fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tEMAIL\tROLE\tBLOCKED\tCONFIG\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, dash(u.Name), dash(u.Email),
			dash(u.Role), yesNo(u.Blocked), configCell(u), dash(fmtTime(u.CreatedAt)))
	}
	return tw.Flush()
}

// user show <id>
func userShow(c *client, args []string) error {
	b, err := c.call(http.MethodGet, userPath(args[0]), nil)
	if err != nil {
		return err
	}
	return c.printUser(b)
}

// user set-password <id>
func userSetPassword(c *client, args []string) error {
	pw, err := c.password(true)
	if err != nil {
		return err
	}
	b, err := c.call(http.MethodPatch, userPath(args[0]), map[string]string{"password": *pw})
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	_, err = fmt.Fprintf(c.out, "password of user %s changed\n", args[0])
	return err
}

// user block|unblock <id>
func userBlock(block bool) runFunc {
	action := "unblock"
	if block {
		action = "block"
	}
	return func(c *client, args []string) error {
		b, err := c.call(http.MethodPost, userPath(args[0])+"/"+action, nil)
		if err != nil {
			return err
		}
		return c.printUser(b)
	}
}

// user delete <id>
func userDelete(c *client, args []string) error {
	if _, err := c.call(http.MethodDelete, userPath(args[0]), nil); err != nil || c.json {
		return err
	}
	_, err := fmt.Fprintf(c.out, "user %s deleted\n", args[0])
	return err
}

// user reset-link <id>: the link (with the token in it) to send the user.
func userResetLink(c *client, args []string) error {
	b, err := c.call(http.MethodPost, userPath(args[0])+"/reset-token", nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var resp struct {
		Link string `json:"link"`
	}
	if err := decode(b, &resp); err != nil || resp.Link == "" {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintln(c.out, resp.Link)
	return err
}
