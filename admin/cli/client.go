package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/tokengate/tokengate/admin"
)

// maxAnswer bounds what is read of an answer: a user list of many
// thousands fits.
const maxAnswer = 16 << 20

// client is one invocation: where the admin API is and how to print.
type client struct {
	cmd  *cobra.Command
	addr string
	json bool
	out  io.Writer
}

func newClient(cmd *cobra.Command) (*client, error) {
	fs := cmd.Flags()
	address, _ := fs.GetString("address")
	config, _ := fs.GetString("config")
	adapter, _ := fs.GetString("adapter")
	asJSON, _ := fs.GetBool("json")
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, config, adapter)
	if err != nil {
		return nil, fmt.Errorf("couldn't determine the admin API address: %v", err)
	}
	return &client{cmd: cmd, addr: addr, json: asJSON, out: cmd.OutOrStdout()}, nil
}

// call sends a request to the admin API and returns the response body.
func (c *client) call(method, path string, body any) ([]byte, error) {
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
		return nil, callError(c.addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the admin API's answer: %v", err)
	}
	return b, nil
}

// callError extracts the message from an admin API error: the "error"
// member of the JSON body. AdminAPIRequest reports an error answer as
// text, "caddy responded with error: HTTP <status>: <body>"; any other
// error is a failure to reach the API.
func callError(addr string, err error) error {
	rest, ok := strings.CutPrefix(err.Error(), "caddy responded with error: HTTP ")
	code, body, ok2 := strings.Cut(rest, ": ")
	status, err2 := strconv.Atoi(code)
	if !ok || !ok2 || err2 != nil {
		return fmt.Errorf("cannot reach Caddy's admin API at %s (is Caddy running? see --address): %v", addr, err)
	}
	var answer struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &answer) == nil && answer.Error != "" {
		return errors.New(answer.Error)
	}
	if status == http.StatusNotFound {
		return fmt.Errorf("the admin API at %s has no tokengate routes (HTTP 404): is this Caddy built with tokengate?", addr)
	}
	return fmt.Errorf("admin API answered HTTP %s: %s", code, strings.TrimSpace(body))
}

// decode reads an answer into v.
func decode(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("unexpected answer from the admin API: %v", err)
	}
	return nil
}

// raw prints a response body as it came, for --json.
func (c *client) raw(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(c.out, "%s\n", b)
	return err
}

func userPath(id string) string { return admin.Prefix + "users/" + url.PathEscape(id) }

func namedPath(user, tid string) string {
	p := userPath(user) + "/tokens/named"
	if tid != "" {
		p += "/" + url.PathEscape(tid)
	}
	return p
}
