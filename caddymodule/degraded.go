package caddymodule

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
)

// A degraded start. By default a store that does not answer when Caddy
// starts fails the start, and Caddy refuses the whole config: better no
// server than gates that cannot check anything. A store module with
// start_degraded set lets the rest of the config start instead: the app
// keeps trying to start in the background, and until it has, every gate
// of the config answers 503 (fail closed) while the sites without a gate
// serve.

// errDegraded: the app started degraded and its store has not answered
// yet. It wraps auth.ErrUnavailable, so it is a 503 wherever it goes.
var errDegraded = fmt.Errorf("%w: tokengate started degraded and waits for its store", auth.ErrUnavailable)

// degradedStarter is a StoreModule that may start degraded.
type degradedStarter interface {
	StartDegraded() bool
}

// retryStart bounds the pause between two start attempts.
const (
	retryStartMin = 200 * time.Millisecond
	retryStartMax = 5 * time.Second
)

// degradable reports whether err, a failed start, may leave the app
// degraded: the store did not answer and the module allows it.
func (a *App) degradable(err error) bool {
	d, ok := a.store.(degradedStarter)
	return ok && d.StartDegraded() &&
		(errors.Is(err, store.ErrUnavailable) || errors.Is(err, auth.ErrUnavailable))
}

// startDegraded logs the state and starts the retries; started calls it
// once, inside its sync.Once.
func (a *App) startDegraded(err error) {
	a.logger.Warn("store unavailable: tokengate started degraded; its gates answer 503 until the store answers",
		zap.String("store", a.store.Kind()), zap.String("store_location", storeLocation(a.store)), zap.Error(err))
	a.run.quit, a.run.retried = make(chan struct{}), make(chan struct{})
	a.run.retrying.Store(true)
	go a.retryStart()
}

// retryStart tries to start again, with a growing pause, until a start
// succeeds or the config stops. Attempts never overlap Stop or Cleanup:
// they wait for this goroutine to end (stopRetrying).
func (a *App) retryStart() {
	defer close(a.run.retried)
	pause := retryStartMin
	for attempt := 1; ; attempt++ {
		select {
		case <-a.run.quit:
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, retryStartMax)
		err := a.start()
		if err == nil {
			a.logger.Info("store answered: tokengate is no longer degraded", zap.Int("attempts", attempt))
			return
		}
		a.releaseAll()
		a.logger.Debug("store still unavailable", zap.Int("attempt", attempt), zap.Error(err))
	}
}

// stopRetrying ends the retries of a degraded start and waits for the
// attempt in progress, if any.
func (a *App) stopRetrying() {
	if a.run == nil || !a.run.retrying.Load() {
		return
	}
	a.run.quitOnce.Do(func() { close(a.run.quit) })
	<-a.run.retried
}
