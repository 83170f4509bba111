package redistest

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of child processes on loopback.
type Cluster struct {
	Nodes []*Server // masters first, then their replicas
}

// Addrs are the nodes' addresses, for a client's seed list.
func (c *Cluster) Addrs() []string {
	var a []string
	for _, n := range c.Nodes {
		a = append(a, n.Addr)
	}
	return a
}

// StartCluster runs a cluster of masters masters, each with replicas
// replicas, made with `redis-cli --cluster create`, until the test ends,
// and waits until every node says cluster_state:ok. extra goes to every
// redis-server.
func StartCluster(tb testing.TB, masters, replicas int, extra ...string) *Cluster {
	tb.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		tb.Skip("redis-cli is not installed")
	}
	c := &Cluster{}
	args := append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", "2000"}, extra...)
	for range masters * (1 + replicas) {
		c.Nodes = append(c.Nodes, Start(tb, args...))
	}
	create := append([]string{"--cluster", "create"}, c.Addrs()...)
	create = append(create, "--cluster-replicas", fmt.Sprint(replicas), "--cluster-yes")
	var out bytes.Buffer
	cmd := exec.Command("redis-cli", create...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range c.Nodes {
		for {
			info, _ := n.Do("CLUSTER", "INFO")
			if info == "cluster_state:ok" && c.knowsAll(n) {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cluster node %s not ok after 30s: %s", n.Addr, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Replicas in sync, so that a WAIT can count them.
	for _, n := range c.Nodes {
		for replicas > 0 {
			info, _ := n.CLI("INFO", "replication")
			if strings.Contains(info, "role:master") && strings.Contains(info, fmt.Sprintf("connected_slaves:%d", replicas)) ||
				strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cluster node %s: replication not up after 30s:\n%s", n.Addr, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// knowsAll reports whether node n's view has every node of the cluster.
func (c *Cluster) knowsAll(n *Server) bool {
	out, err := n.CLI("CLUSTER", "NODES")
	return err == nil && strings.Count(out, "\n")+1 == len(c.Nodes) && !strings.Contains(out, "handshake")
}

// CLI runs redis-cli against node n and returns its output.
func (s *Server) CLI(args ...string) (string, error) {
	out, err := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", port(s.Addr)}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func port(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

// ID is the node's cluster id.
func (s *Server) ID() (string, error) { return s.Do("CLUSTER", "MYID") }

// Owner is the master that serves slot, as the first node sees it.
func (c *Cluster) Owner(slot int) (*Server, error) {
	out, err := c.Nodes[0].CLI("CLUSTER", "NODES")
	if err != nil {
		return nil, fmt.Errorf("CLUSTER NODES: %v: %s", err, out)
	}
	// <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(f[2], "master") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		for _, r := range f[8:] {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			var l, h int
			if _, err := fmt.Sscan(lo, &l); err != nil {
				continue // [slot->-node] of a migration
			}
			if _, err := fmt.Sscan(hi, &h); err != nil || slot < l || slot > h {
				continue
			}
			for _, n := range c.Nodes {
				if n.Addr == addr {
					return n, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no master serves slot %d", slot)
}

// Masters are the nodes that are masters now.
func (c *Cluster) Masters() []*Server {
	var m []*Server
	for _, n := range c.Nodes {
		if role, _ := n.CLI("ROLE"); strings.HasPrefix(role, "master") {
			m = append(m, n)
		}
	}
	return m
}

// MigrateSlot moves slot from one master to another the way
// redis-cli --cluster reshard does: IMPORTING on the target, MIGRATING on
// the source, MIGRATE of its keys batch keys at a time, then SETSLOT NODE
// everywhere. Clients meanwhile get ASK and TRYAGAIN redirections, then
// MOVED.
func (c *Cluster) MigrateSlot(slot int, from, to *Server, batch int) error {
	fromID, err := from.ID()
	if err != nil {
		return err
	}
	toID, err := to.ID()
	if err != nil {
		return err
	}
	sl := fmt.Sprint(slot)
	for _, step := range []struct {
		n    *Server
		args []string
	}{
		{to, []string{"CLUSTER", "SETSLOT", sl, "IMPORTING", fromID}},
		{from, []string{"CLUSTER", "SETSLOT", sl, "MIGRATING", toID}},
	} {
		if out, err := step.n.Do(step.args...); err != nil || out != "+OK" {
			return fmt.Errorf("%s on %s: %q, %v", strings.Join(step.args, " "), step.n.Addr, out, err)
		}
	}
	host, p, _ := strings.Cut(to.Addr, ":")
	for {
		out, err := from.CLI("CLUSTER", "GETKEYSINSLOT", sl, fmt.Sprint(batch))
		if err != nil {
			return fmt.Errorf("GETKEYSINSLOT: %v: %s", err, out)
		}
		if out == "" {
			break
		}
		keys := strings.Split(out, "\n")
		args := append([]string{"MIGRATE", host, p, "", "0", "5000", "KEYS"}, keys...)
		if out, err := from.CLI(args...); err != nil || out != "OK" {
			return fmt.Errorf("MIGRATE %d keys: %q, %v", len(keys), out, err)
		}
	}
	// The target first, so that the source's MOVED points to an owner.
	for _, n := range append([]*Server{to, from}, c.Masters()...) {
		if out, err := n.Do("CLUSTER", "SETSLOT", sl, "NODE", toID); err != nil || out != "+OK" {
			return fmt.Errorf("SETSLOT NODE on %s: %q, %v", n.Addr, out, err)
		}
	}
	return nil
}
