package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// upstreamBody is what the upstream answers: short, so that the numbers
// measure proxying rather than copying.
const upstreamBody = "hello from upstream\n"

// startUpstream serves 200 upstreamBody on a free loopback port, in this
// process, and returns its host:port and a function that stops it.
func startUpstream() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, upstreamBody)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }() // returns ErrServerClosed at stop
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
	return l.Addr().String(), stop, nil
}
