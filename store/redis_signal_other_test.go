//go:build !unix

package store_test

import "os"

// Without SIGSTOP, tests that need a hung server skip.
var sigStop, sigCont os.Signal = os.Kill, os.Kill
