package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/tokengate/tokengate/auth"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/store/observed"
	"github.com/tokengate/tokengate/tokens"
)

// startTimeout bounds the store work of a start: syncing the declared
// users.
const startTimeout = 10 * time.Second

// Start refuses a config with a gate that can never run and warns of
// gates that leave something open (inspectHTTP), then opens the store,
// loads (or generates) the key, writes the declared users and begins
// purging expired records.
func (a *App) Start() error {
	if err := a.inspectHTTP(); err != nil {
		return err
	}
	if _, err := a.started(); err != nil && !errors.Is(err, errDegraded) {
		return err
	}
	return nil
}

// started returns the service, starting the app first if need be. A
// request can come before Start: Caddy starts its apps in no fixed order,
// so the http app may already serve when this one has not started.
//
// With a store module that allows it (start_degraded), a store that does
// not answer does not fail the start: the app retries in the background
// (degraded.go) and meanwhile answers errDegraded, which gates turn into
// 503s.
func (a *App) started() (*auth.Service, error) {
	a.run.once.Do(func() {
		a.nameServices()
		err := a.start()
		if err == nil {
			return
		}
		a.releaseAll()
		if !a.degradable(err) {
			a.run.err = err
			return
		}
		a.startDegraded(err)
	})
	if svc := a.run.auth.Load(); svc != nil {
		return svc, nil
	}
	if a.run.err != nil {
		return nil, a.run.err
	}
	return nil, errDegraded
}

// service is the running service, nil before the app has started.
func (a *App) service() *auth.Service {
	if a.run == nil {
		return nil
	}
	return a.run.auth.Load()
}

func (a *App) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	st, release, err := a.store.OpenStore(ctx)
	if err != nil {
		return fmt.Errorf("store %s: %w", a.store.Kind(), err)
	}
	a.acquired(release)
	if r, ok := st.(store.HealthReporter); ok {
		stop := r.OnHealth(a.logHealth)
		a.acquired(func() error { stop(); return nil })
	}
	// A shared store names this instance in its change notifications.
	var instance string
	if in, ok := st.(interface{ Instance() string }); ok {
		instance = in.Instance()
	}
	keys := a.keys
	keyLog := []zap.Field{zap.String("key_from", a.keySource())}
	if len(keys) == 0 {
		key, generated, err := loadKeyFile()
		if err != nil {
			return err
		}
		keys = []tokens.ServerKey{key}
		keyLog = []zap.Field{zap.String("key_from", "file"), zap.String("key_file", keyFilePath()), zap.Bool("key_generated", generated)}
	}
	ring, err := tokens.NewKeyRing(keys...)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	kind := a.store.Kind()
	km := a.metrics.storeKind(kind, a.store.Shared())
	a.acquired(func() error { a.metrics.releaseStoreKind(kind); return nil })
	if c, ok := st.(connectedStore); ok {
		up := newSubscriptionGauge(kind, c)
		if err := a.reg.Register(up); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		a.acquired(func() error { a.reg.Unregister(up); return nil })
	}
	st = observed.Wrap(st, &km.ops, &km.errors, &a.metrics.revocations, a.logger)
	if km.subscribe {
		stopHeard := observed.CountRemote(st, km.heard, km.heardLag)
		a.acquired(func() error { stopHeard(); return nil })
	}
	svc, err := auth.NewWithKeyRing(st, ring,
		auth.WithAudit(auditSink(a.auditLogger(), instance)),
		auth.WithMaxTemporaryTTL(time.Duration(a.TemporaryMaxTTL)),
		auth.WithCacheSize(a.CacheSize),
		auth.WithPasswordPolicy(auth.Policy{MinLength: a.PasswordMinLength, MinClasses: a.PasswordMinClasses}),
		auth.WithBudget(auth.Budget{Max: a.FailureBudget, Window: time.Duration(a.FailureWindow), UserFactor: auth.DefaultBudget.UserFactor}),
		auth.WithPasswordConcurrency(a.PasswordConcurrency),
		auth.WithMaxStaleness(time.Duration(a.MaxStaleness)),
		auth.WithClientPrefixes(a.FailureIPv4Prefix, a.FailureIPv6Prefix),
		auth.WithObserver(observer{a.metrics}),
		auth.WithAssertions(auth.AssertionOptions{Rotation: time.Duration(a.AssertionKeyRotation), Issuer: a.AssertionIssuer}),
		auth.WithKeyReloadErrors(func(err error) {
			a.logger.Error("could not reload the store-held server keys; keeping the ring in use", zap.Error(err))
		}),
		auth.WithExhaustedHook(func(key string) {
			a.metrics.banned(key)
			a.logger.Warn("brute-force budget used up; refusing credentials", zap.String("key", key))
		}),
	)
	if err != nil {
		return err
	}
	// Closing is safe while requests of this config still use it: they
	// answer from the store.
	a.acquired(func() error { svc.Close(); return nil })
	// The store-held ring (`caddy tokengate key rotate`) goes before the
	// configured keys.
	if err := svc.LoadKeys(ctx); err != nil {
		return fmt.Errorf("server keys: %w", err)
	}
	keyLog = append(keyLog, zap.Strings("key_ids", svc.KeyRing().IDs()))
	cc := newCacheCollector(svc)
	if err := a.reg.Register(cc); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	a.acquired(func() error { a.reg.Unregister(cc); return nil })
	res, err := svc.SyncUsers(auth.WithActor(ctx, auth.Actor{ID: auth.ActorConfig}), declaredUsers(a.Users))
	for _, id := range res.Orphaned {
		a.logger.Warn("user no longer declared in the config: blocked and marked orphaned; "+
			"declare it again to restore it, or remove it for good with `caddy tokengate user delete`",
			zap.String("user", id))
	}
	if err != nil {
		return err
	}
	// Time a check of each declared hash kind, so that the first login of
	// such a user is padded like every other (auth.checkTiming).
	learnCtx, stopLearning := context.WithCancel(context.Background())
	a.acquired(func() error { stopLearning(); return nil })
	go svc.Learn(learnCtx, declaredHashes(a.Users))
	a.run.auth.Store(svc)
	a.run.stop, a.run.done = make(chan struct{}), make(chan struct{})
	go a.purge(svc)
	a.logger.Info("tokengate started", append([]zap.Field{
		zap.String("store", a.store.Kind()), zap.String("store_location", storeLocation(a.store)),
	}, keyLog...)...)
	return nil
}

// acquired records how to release something start acquired.
func (a *App) acquired(release func() error) { a.run.release = append(a.run.release, release) }

// releaseAll releases what start acquired, newest first.
func (a *App) releaseAll() error {
	if a.run == nil {
		return nil
	}
	var errs []error
	for i := len(a.run.release) - 1; i >= 0; i-- {
		errs = append(errs, a.run.release[i]())
	}
	a.run.release = nil
	return errors.Join(errs...)
}

// Stop ends the purging; Cleanup releases the rest.
func (a *App) Stop() error {
	a.stopRetrying()
	if a.run != nil && a.run.stop != nil {
		close(a.run.stop)
		<-a.run.done
		a.run.stop = nil
	}
	return nil
}

func (a *App) purge(svc *auth.Service) {
	defer close(a.run.done)
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		select {
		case <-a.run.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			n, err := svc.PurgeExpired(ctx)
			cancel()
			if err != nil {
				a.logger.Warn("purging expired sessions and handoff tokens", zap.Error(err))
			} else if n > 0 {
				a.logger.Debug("purged expired sessions and handoff tokens", zap.Int("count", n))
			}
		}
	}
}

// logHealth reports a shared store's subscription going and coming back:
// meanwhile, cached state is trusted for at most max_staleness.
func (a *App) logHealth(h store.HealthEvent) {
	if h == store.SubscriptionLost {
		a.logger.Warn("lost the shared store's change notifications; trusting cached state for at most max_staleness",
			zap.Duration("max_staleness", time.Duration(a.MaxStaleness)))
		return
	}
	a.logger.Info("shared store's change notifications restored; cached state dropped")
}

// Cleanup releases what this config acquired, and only that: what Start
// acquired if it ran (not under `caddy validate`), and the metrics.
func (a *App) Cleanup() error {
	a.stopRetrying()
	err := a.releaseAll()
	if a.metrics != nil {
		metricsPool.Delete(metricsPoolKey)
	}
	return err
}
