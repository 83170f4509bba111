//go:build !unix

package redistest

import "os"

// Without SIGSTOP, Pause answers ErrNoSIGSTOP.
var sigStop, sigCont os.Signal = os.Kill, os.Kill
