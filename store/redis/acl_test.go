package redis_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/internal/redistest"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/redis"
	"github.com/tokengate/tokengate/store/storetest"
)

// aclCommands is every command tokengate sends, itself or from its
// scripts, to a standalone or Sentinel-managed primary: the README's ACL
// line grants exactly these.
const aclCommands = "-@all +ping +client|setname +select +eval +evalsha +wait " +
	"+get +set +del +incr +time +scan +publish +subscribe " +
	"+hget +hmget +hgetall +hkeys +hexists +hset +hsetnx +hdel +hincrby " +
	"+zadd +zrange +zrangebyscore +zrem +zremrangebyscore +pttl +pexpire"

var aclUsers atomic.Int64

// TestACLConformance runs the suite as an ACL user that may run only
// aclCommands, on its own key prefix and event channel, with durable
// writes on a primary with a replica (so WAIT is exercised too): a
// command missing from the list fails the suite with NOPERM.
func TestACLConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	primary, _ := startReplicated(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		n := aclUsers.Add(1)
		user, prefix := fmt.Sprintf("tg%d", n), fmt.Sprintf("acl%d:", n)
		rules := append([]string{"ACL", "SETUSER", user, "reset", "on", ">pw-" + user,
			"~" + prefix + "*", "&" + prefix + "events"}, strings.Fields(aclCommands)...)
		if out, err := primary.Do(rules...); err != nil || out != "+OK" {
			t.Fatalf("ACL SETUSER: %q, %v", out, err)
		}
		return openRedis(t, primary, prefix, func(c *redis.Config) {
			c.Username, c.Password = user, "pw-"+user
			c.WaitReplicas = 1
		})
	})
	// The last user has run everything the suite runs: no NOPERM at all.
	if out, _ := primary.CLI("ACL", "LOG"); strings.Contains(out, "tg") {
		t.Errorf("ACL LOG:\n%s", out)
	}
}

// aclClusterCommands are what a Cluster's nodes must grant on top.
const aclClusterCommands = "+cluster|slots +command"

// TestACLClusterConformance is TestACLConformance on a three-master
// Cluster, with aclClusterCommands granted too.
func TestACLClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := redistest.StartCluster(t, 3, 0)
	storetest.Run(t, func(t *testing.T) store.Store {
		n := aclUsers.Add(1)
		user, prefix := fmt.Sprintf("tg%d", n), fmt.Sprintf("acl%d:", n)
		rules := append([]string{"ACL", "SETUSER", user, "reset", "on", ">pw-" + user,
			"~" + prefix + "*", "&" + prefix + "events"}, strings.Fields(aclCommands+" "+aclClusterCommands)...)
		for _, node := range c.Nodes {
			if out, err := node.Do(rules...); err != nil || out != "+OK" {
				t.Fatalf("ACL SETUSER on %s: %q, %v", node.Addr, out, err)
			}
		}
		return openCluster(t, c, prefix, func(c *redis.Config) { c.Username, c.Password = user, "pw-"+user })
	})
	for _, node := range c.Nodes {
		if out, _ := node.CLI("ACL", "LOG"); strings.Contains(out, "tg") {
			t.Errorf("ACL LOG of %s:\n%s", node.Addr, out)
		}
	}
}
