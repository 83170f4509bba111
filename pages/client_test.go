package pages_test

import "net/netip"

// testClient is the address the tests' password checks come from.
var testClient = netip.MustParseAddr("192.0.2.1")
