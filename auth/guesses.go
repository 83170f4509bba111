package auth

import (
	"sync"
	"time"
)

// guesses is the budget of failed token checks per client: a token that
// is undecodable or not authentic (see tokens/tag.go) counts one against
// its sender, and a client past the budget gets *ErrTooManyFailures
// before its next uncached token is even decoded. It lives in memory,
// per instance: a garbage token costs no store write, and the gate's
// cached path never touches it. Across instances each counts on its own,
// so a client spreading garbage over n instances gets n budgets; the
// password budgets, in the store, are the shared ones.
type guesses struct {
	max    int
	window time.Duration

	mu      sync.Mutex
	clients map[string]guessWindow
}

type guessWindow struct {
	n     int
	until time.Time
}

// maxGuessClients bounds the memory: past it, ended windows are dropped,
// and if every window is still open the oldest count starts over — a
// flood from that many addresses is beyond what a per-client budget can
// stop, and the store's password budgets still hold.
const maxGuessClients = 1 << 16

// refused reports how long the client must wait, if it is past its
// budget.
func (g *guesses) refused(client string, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w, ok := g.clients[client]
	if !ok || !now.Before(w.until) || w.n < g.max {
		return 0, false
	}
	return w.until.Sub(now), true
}

// failed counts one failed token check.
func (g *guesses) failed(client string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.clients == nil {
		g.clients = make(map[string]guessWindow)
	}
	w, ok := g.clients[client]
	if !ok || !now.Before(w.until) {
		if !ok && len(g.clients) >= maxGuessClients {
			g.prune(now)
		}
		w = guessWindow{until: now.Add(g.window)}
	}
	w.n++
	g.clients[client] = w
}

func (g *guesses) prune(now time.Time) {
	for k, w := range g.clients {
		if !now.Before(w.until) {
			delete(g.clients, k)
		}
	}
	if len(g.clients) >= maxGuessClients {
		clear(g.clients)
	}
}
