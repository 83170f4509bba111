package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/tokengate/tokengate/admin"
	"github.com/tokengate/tokengate/store"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "tokengate",
		Usage: "<user|token|revoke|generation> ... [--address <interface>] [--config <path> [--adapter <name>]] [--json]",
		Short: "Manages tokengate users and tokens of a running Caddy",
		Long: `
Manages the users and tokens of the tokengate app in a running Caddy,
through its admin API (the /tokengate/ routes). Anyone who can reach the
admin API can do all of this: keep it on loopback or a unix socket.

  user add <id> [--password <p> | --password-stdin] [--username <u>]
           [--name <n>] [--email <e>] [--role <r>]
  user list
  user show <id>
  user set-password <id> [--password <p> | --password-stdin]
  user block <id>
  user unblock <id>
  user delete <id>
  token issue <user> [--ttl 1h]
  token named create <user> <name>
  token named list <user>
  token named revoke <user> <token-id>
  token named delete <user> <token-id>
  revoke <user>        revoke all of the user's temporary tokens
  generation <user>    the user's temporary-token generation

A user added without a password cannot use Basic authentication, only
the tokens issued to it. Prefer --password-stdin to --password, which
other local users can see in the process list. Users declared in the
Caddy config can be blocked and unblocked here, but changed or deleted
only in the config.

"token issue" prints only the token, so that T=$(caddy tokengate token
issue alice) works. Other output is a table; --json prints the API's JSON
instead. On failure the command prints one line to stderr and exits with
a non-zero status.

The admin API address is taken from --address, else from the config
given with --config (and --adapter), else the default (localhost:2019).
`,
		CobraFunc: setUpCommand,
	})
}

// setUpCommand builds the command tree under `caddy tokengate`.
func setUpCommand(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringP("config", "c", "", "Configuration file to read the admin address from, if --address is not used")
	pf.StringP("adapter", "a", "", "Name of the config adapter to apply (when --config is used)")
	pf.String("address", "", "The address of the admin API, if not the default")
	pf.Bool("json", false, "Print the API's JSON instead of a table")
	cmd.SilenceErrors = true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fail(c, err)
	})
	cmd.RunE = groupRun

	user := group("user", "Manage users")
	add := leaf("add <id>", "Add a user", 1, cliUserAdd)
	passwordFlags(add)
	add.Flags().String("username", "", "Basic-auth user name (default: the id)")
	add.Flags().String("name", "", "Display name")
	add.Flags().String("email", "", "E-mail address")
	add.Flags().String("role", "", "Role, passed upstream in X-Auth-User-Role")
	setPassword := leaf("set-password <id>", "Set a user's password", 1, cliUserSetPassword)
	passwordFlags(setPassword)
	user.AddCommand(
		add,
		leaf("list", "List users", 0, cliUserList),
		leaf("show <id>", "Show a user", 1, cliUserShow),
		setPassword,
		leaf("block <id>", "Block a user: its tokens and password stop working", 1, cliUserBlock(true)),
		leaf("unblock <id>", "Unblock a user", 1, cliUserBlock(false)),
		leaf("delete <id>", "Delete a user and its tokens", 1, cliUserDelete),
		leaf("reset-link <id>", "Create a password-reset token and print its link", 1, cliUserResetLink),
	)

	token := group("token", "Issue and manage tokens")
	issue := leaf("issue <user>", "Issue a temporary token and print it", 1, cliTokenIssue)
	issue.Flags().String("ttl", "1h", "Lifetime of the token (at most the app's temporary_max_ttl)")
	named := group("named", "Manage named tokens")
	named.AddCommand(
		leaf("create <user> <name>", "Create a named token", 2, cliNamedCreate),
		leaf("list <user>", "List a user's named tokens", 1, cliNamedList),
		leaf("revoke <user> <token-id>", "Revoke a named token", 2, cliNamedRevoke),
		leaf("delete <user> <token-id>", "Delete a named token", 2, cliNamedDelete),
	)
	token.AddCommand(issue, named)

	bans := group("bans", "See and lift brute-force blocks")
	bans.AddCommand(
		leaf("list", "List clients and users past their failure budget", 0, cliBansList),
		leaf("lift <ip-or-user>", "Forget the failures of a client IP or a user", 1, cliBansLift),
	)

	cmd.AddCommand(
		user, token, bans,
		leaf("revoke <user>", "Revoke all of a user's temporary tokens; print the new generation", 1, cliRevoke),
		leaf("generation <user>", "Print a user's temporary-token generation", 1, cliGeneration),
	)
}

func passwordFlags(c *cobra.Command) {
	c.Flags().String("password", "", "The password (visible to other local users; prefer --password-stdin)")
	c.Flags().Bool("password-stdin", false, "Read the password from the first line of stdin")
}

// group is a command that only holds subcommands.
func group(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, SilenceErrors: true, SilenceUsage: true, RunE: groupRun}
}

// groupRun shows help for a bare group and refuses unknown subcommands,
// which cobra would otherwise take as arguments and answer with help.
func groupRun(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fail(c, fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()))
	}
	return c.Help()
}

// cliFunc runs one leaf command.
type cliFunc func(c *cli, args []string) error

// leaf is a command that does something; it takes exactly nargs
// positional arguments, before or after its flags.
func leaf(use, short string, nargs int, run cliFunc) *cobra.Command {
	return &cobra.Command{
		Use:           use,
		Short:         short,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != nargs {
				return fail(cmd, fmt.Errorf("%s takes %d argument(s), got %d; usage: %s",
					cmd.CommandPath(), nargs, len(args), cmd.UseLine()))
			}
			c, err := newCLI(cmd)
			if err != nil {
				return fail(cmd, err)
			}
			return fail(cmd, run(c, args))
		},
	}
}

// fail prints err as the command's one line of error output.
func fail(cmd *cobra.Command, err error) error {
	if err != nil {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		fmt.Fprintf(cmd.ErrOrStderr(), "caddy tokengate: %s\n", msg)
	}
	return err
}

// cli is one invocation: where the admin API is and how to print.
type cli struct {
	cmd  *cobra.Command
	addr string
	json bool
	out  io.Writer
}

func newCLI(cmd *cobra.Command) (*cli, error) {
	fs := cmd.Flags()
	address, _ := fs.GetString("address")
	config, _ := fs.GetString("config")
	adapter, _ := fs.GetString("adapter")
	asJSON, _ := fs.GetBool("json")
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, config, adapter)
	if err != nil {
		return nil, fmt.Errorf("couldn't determine the admin API address: %v", err)
	}
	return &cli{cmd: cmd, addr: addr, json: asJSON, out: cmd.OutOrStdout()}, nil
}

// call sends a request to the admin API and returns the response body.
func (c *cli) call(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	resp, err := caddycmd.AdminAPIRequest(c.addr, method, path, nil, rd)
	if err != nil {
		return nil, adminCallError(c.addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the admin API's answer: %v", err)
	}
	return b, nil
}

// AdminAPIRequest reports an error answer as text with the body in it.
var adminErrorRE = regexp.MustCompile(`(?s)^caddy responded with error: HTTP (\d+): (.*)$`)

// adminCallError extracts the message from an admin API error: the
// "error" member of the JSON body Caddy writes for an APIError.
func adminCallError(addr string, err error) error {
	m := adminErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("cannot reach Caddy's admin API at %s (is Caddy running? see --address): %v", addr, err)
	}
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(m[2]), &body) == nil && body.Error != "" {
		return errors.New(body.Error)
	}
	status, _ := strconv.Atoi(m[1])
	if status == http.StatusNotFound {
		return fmt.Errorf("the admin API at %s has no tokengate routes (HTTP 404): is this Caddy built with tokengate?", addr)
	}
	return fmt.Errorf("admin API answered HTTP %s: %s", m[1], strings.TrimSpace(m[2]))
}

// raw prints a response body as it came, for --json.
func (c *cli) raw(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(c.out, "%s\n", b)
	return err
}

func userPath(id string) string { return "/tokengate/users/" + url.PathEscape(id) }

func namedPath(user, tid string) string {
	p := userPath(user) + "/tokens/named"
	if tid != "" {
		p += "/" + url.PathEscape(tid)
	}
	return p
}

// password returns the password the flags give, if any.
func (c *cli) password(required bool) (*string, error) {
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

// printUser prints one user, or its JSON.
func (c *cli) printUser(b []byte) error {
	if c.json {
		return c.raw(b)
	}
	var u admin.User
	if err := json.Unmarshal(b, &u); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %v", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"id", u.ID}, {"username", u.Username}, {"name", u.Name}, {"email", u.Email},
		{"role", u.Role}, {"blocked", yesNo(u.Blocked)}, {"config managed", yesNo(u.ConfigManaged)},
		{"created by", u.CreatedBy}, {"created at", fmtTime(u.CreatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], dash(row[1]))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// user add <id>
func cliUserAdd(c *cli, args []string) error {
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
	b, err := c.call(http.MethodPost, "/tokengate/users", req)
	if err != nil {
		return err
	}
	return c.printUser(b)
}

// user list
func cliUserList(c *cli, _ []string) error {
	b, err := c.call(http.MethodGet, "/tokengate/users", nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var users []admin.User
	if err := json.Unmarshal(b, &users); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %v", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tEMAIL\tROLE\tBLOCKED\tCONFIG\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, dash(u.Name), dash(u.Email),
			dash(u.Role), yesNo(u.Blocked), yesNo(u.ConfigManaged), dash(fmtTime(u.CreatedAt)))
	}
	return tw.Flush()
}

// user show <id>
func cliUserShow(c *cli, args []string) error {
	b, err := c.call(http.MethodGet, userPath(args[0]), nil)
	if err != nil {
		return err
	}
	return c.printUser(b)
}

// user set-password <id>
func cliUserSetPassword(c *cli, args []string) error {
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
func cliUserBlock(block bool) cliFunc {
	action := "unblock"
	if block {
		action = "block"
	}
	return func(c *cli, args []string) error {
		b, err := c.call(http.MethodPost, userPath(args[0])+"/"+action, nil)
		if err != nil {
			return err
		}
		return c.printUser(b)
	}
}

// user delete <id>
func cliUserDelete(c *cli, args []string) error {
	if _, err := c.call(http.MethodDelete, userPath(args[0]), nil); err != nil || c.json {
		return err
	}
	_, err := fmt.Fprintf(c.out, "user %s deleted\n", args[0])
	return err
}

// token issue <user>: only the token, for T=$(...).
func cliTokenIssue(c *cli, args []string) error {
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
func cliNamedCreate(c *cli, args []string) error {
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
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %v", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "token id:\t%s\ntoken:\t%s\n", resp.TokenID, resp.Token)
	return tw.Flush()
}

// cliNamed is a named token record as the API shows it.
type cliNamed struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Caveats  json.RawMessage `json:"caveats"`
	Revoked  bool            `json:"revoked"`
	Metadata struct {
		CreationTime int64 `json:"creationTime"`
	} `json:"metadata"`
}

// token named list <user>
func cliNamedList(c *cli, args []string) error {
	b, err := c.call(http.MethodGet, namedPath(args[0], ""), nil)
	if err != nil {
		return err
	}
	if c.json {
		return c.raw(b)
	}
	var list []cliNamed
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %v", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
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
func cliNamedRevoke(c *cli, args []string) error {
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
func cliNamedDelete(c *cli, args []string) error {
	if _, err := c.call(http.MethodDelete, namedPath(args[0], args[1]), nil); err != nil || c.json {
		return err
	}
	_, err := fmt.Fprintf(c.out, "named token %s of user %s deleted\n", args[1], args[0])
	return err
}

// revoke <user>
func cliRevoke(c *cli, args []string) error {
	return c.generation(http.MethodDelete, args[0])
}

// generation <user>
func cliGeneration(c *cli, args []string) error {
	return c.generation(http.MethodGet, args[0])
}

// generation reads or bumps the temporary-token generation and prints it.
func (c *cli) generation(method, user string) error {
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

// user reset-link <id>: the link (with the token in it) to send the user.
func cliUserResetLink(c *cli, args []string) error {
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
	if err := json.Unmarshal(b, &resp); err != nil || resp.Link == "" {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	_, err = fmt.Fprintln(c.out, resp.Link)
	return err
}

// bans list
func cliBansList(c *cli, _ []string) error {
	b, err := c.call(http.MethodGet, "/tokengate/bans", nil)
	if err != nil || c.json {
		if err == nil {
			err = c.raw(b)
		}
		return err
	}
	var bans []store.Counter
	if err := json.Unmarshal(b, &bans); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %s", b)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tFAILURES\tUNTIL")
	for _, ban := range bans {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", ban.Key, ban.Count, fmtTime(ban.Until))
	}
	return tw.Flush()
}

// bans lift <ip-or-user>: an argument that parses as an IP address is a
// client; anything else a user id.
func cliBansLift(c *cli, args []string) error {
	key := "user:" + args[0]
	if _, err := netip.ParseAddr(args[0]); err == nil {
		key = "ip:" + args[0]
	}
	if _, err := c.call(http.MethodDelete, "/tokengate/bans/"+url.PathEscape(key), nil); err != nil || c.json {
		return err
	}
	_, err := fmt.Fprintf(c.out, "lifted %s\n", key)
	return err
}
