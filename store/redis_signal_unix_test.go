//go:build unix

package store_test

import "syscall"

var sigStop, sigCont = syscall.SIGSTOP, syscall.SIGCONT
