// Package cli is the `caddy tokengate` command: it manages the users and
// tokens of a running Caddy through the admin API (package admin) over
// HTTP. Importing the package registers the command with Caddy's.
package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "tokengate",
		Usage: "<user|token|revoke|generation|bans|key> ... [--address <interface>] [--config <path> [--adapter <name>]] [--json]",
		Short: "Manages tokengate users and tokens of a running Caddy",
		Long: `
Manages the users and tokens of the tokengate app in a running Caddy,
through its admin API (the /tokengate/ routes). Anyone who can reach the
admin API can do all of this: keep it on loopback or a unix socket.

  user add <id> [--password <p> | --password-stdin] [--username <u>]
           [--name <n>] [--email <e>] [--role <r>]
  user list
  user show <id>
  user update <id> [--username <u>] [--name <n>] [--email <e>] [--role <r>]
  user set-password <id> [--password <p> | --password-stdin]
  user block <id>
  user unblock <id>
  user delete <id>
  user reset-link <id>
  token issue <user> [--ttl 1h] [caveat flags]
  token named create <user> <name> [caveat flags]
  token named list <user>
  token named show <user> <token>
  token named rename <user> <token> <new-name>
  token named revoke <user> <token>
  token named unrevoke <user> <token>
  token named delete <user> <token>
  revoke <user>        revoke all of the user's temporary tokens
  revoke --everything <user>
                       end every credential at once: temporary, session
                       and handoff tokens, named tokens, the reset token
  generation <user>    the user's temporary-token generation
  bans list
  bans add (--ip <addr> | --user <name>) [--duration 1h] [--reason <text>]
  bans lift <key>      a key as bans list prints it, an IP address, or a
                       user id; fails if no failures are counted for it
  key list             the accepted server keys (ids, never the keys)
  key rotate           add a fresh server key to the store-held ring and
                       print its id: every instance sharing the store
                       signs new tokens with it; older tokens still work
  key remove <id>      remove a store-held key: its tokens stop working

A user added without a password cannot use Basic authentication, only
the tokens issued to it. Prefer --password-stdin to --password, which
other local users can see in the process list. Users declared in the
Caddy config can be blocked and unblocked here, but changed or deleted
only in the config. A declared user the config no longer declares is
orphaned (CONFIG "orphaned" in user list): it cannot authenticate until
the config declares it again, and "user delete" removes it for good.

A named token is given by its id or its name. The caveat flags narrow
the token: --ip <addr|cidr>, --service <name>, --read-only, --path <p>,
--interface <i>, --api <service>/<operation>/<glob>, --consumer <user>
(each list flag repeatable), as the README's "Tokens that carry their
own limits" describes.

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
	add := leaf("add <id>", "Add a user", 1, userAdd)
	passwordFlags(add)
	add.Flags().String("username", "", "Basic-auth user name (default: the id)")
	add.Flags().String("name", "", "Display name")
	add.Flags().String("email", "", "E-mail address")
	add.Flags().String("role", "", "Role, passed upstream in X-Auth-User-Role")
	update := leaf("update <id>", "Change a user's username, name, e-mail or role", 1, userUpdate)
	update.Flags().String("username", "", "Basic-auth user name")
	update.Flags().String("name", "", "Display name")
	update.Flags().String("email", "", "E-mail address")
	update.Flags().String("role", "", "Role, passed upstream in X-Auth-User-Role")
	setPassword := leaf("set-password <id>", "Set a user's password", 1, userSetPassword)
	passwordFlags(setPassword)
	user.AddCommand(
		add,
		leaf("list", "List users", 0, userList),
		leaf("show <id>", "Show a user", 1, userShow),
		update,
		setPassword,
		leaf("block <id>", "Block a user: its tokens and password stop working, its sessions end", 1, userBlock(true)),
		leaf("unblock <id>", "Unblock a user", 1, userBlock(false)),
		leaf("delete <id>", "Delete a user and its tokens", 1, userDelete),
		leaf("reset-link <id>", "Create a password-reset token and print its link", 1, userResetLink),
	)

	token := group("token", "Issue and manage tokens")
	issue := leaf("issue <user>", "Issue a temporary token and print it", 1, tokenIssue)
	issue.Flags().String("ttl", "1h", "Lifetime of the token (at most the app's temporary_max_ttl)")
	caveatFlags(issue)
	create := leaf("create <user> <name>", "Create a named token", 2, namedCreate)
	caveatFlags(create)
	named := group("named", "Manage named tokens (by id or by name)")
	named.AddCommand(
		create,
		leaf("list <user>", "List a user's named tokens", 1, namedList),
		leaf("show <user> <token>", "Show a named token, given by id or name", 2, namedShow),
		leaf("rename <user> <token> <new-name>", "Rename a named token", 3, namedPatch(func(a []string) map[string]any { return map[string]any{"name": a[2]} }, "renamed")),
		leaf("revoke <user> <token>", "Revoke a named token", 2, namedPatch(func([]string) map[string]any { return map[string]any{"revoked": true} }, "revoked")),
		leaf("unrevoke <user> <token>", "Make a revoked named token work again", 2, namedPatch(func([]string) map[string]any { return map[string]any{"revoked": false} }, "unrevoked")),
		leaf("delete <user> <token>", "Delete a named token", 2, namedDelete),
	)
	token.AddCommand(issue, named)

	bans := group("bans", "See, set and lift brute-force blocks")
	banAdd := leaf("add", "Ban a client address or a user name for a while", 0, bansAdd)
	banAdd.Flags().String("ip", "", "The client address to ban (its /64 for IPv6, as failures count)")
	banAdd.Flags().String("user", "", "The user name to ban (logins with it are refused)")
	banAdd.Flags().String("duration", "1h", "How long the ban lasts (at most 8760h)")
	banAdd.Flags().String("reason", "", "Why, for the audit trail")
	bans.AddCommand(
		leaf("list", "List clients and users past their failure budget", 0, bansList),
		banAdd,
		leaf("lift <key>", "Forget the failures of a key as bans list prints it, a client IP or a user", 1, bansLift),
	)

	key := group("key", "Rotate the server keys tokens are signed with")
	key.AddCommand(
		leaf("list", "List the accepted server keys, newest first", 0, keyList),
		leaf("rotate", "Add a fresh key to the store-held ring and print its id", 0, keyRotate),
		leaf("remove <id>", "Remove a store-held key: its tokens stop working", 1, keyRemove),
	)

	revokeCmd := leaf("revoke <user>", "Revoke all of a user's temporary tokens; print the new generation", 1, revoke)
	revokeCmd.Flags().Bool("everything", false,
		"End every credential of the user at once: temporary, session and handoff tokens, named tokens, the reset token")
	cmd.AddCommand(
		user, token, bans, key,
		revokeCmd,
		leaf("generation <user>", "Print a user's temporary-token generation", 1, generation),
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

// runFunc runs one leaf command.
type runFunc func(c *client, args []string) error

// leaf is a command that does something; it takes exactly nargs
// positional arguments, before or after its flags.
func leaf(use, short string, nargs int, run runFunc) *cobra.Command {
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
			c, err := newClient(cmd)
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
