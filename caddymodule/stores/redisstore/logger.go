package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// go-redis logs a few events of its own (a failed dial, a pool or Pub/Sub
// problem) through one process-wide logger, by default Go's log package
// on stderr: plain-text lines in the middle of Caddy's JSON log. The
// first provisioned Redis store points it at zapLogger, which writes to
// the logger of the latest provisioned config, as warnings, since they
// are about reaching Redis.
type zapLogger struct{ l atomic.Pointer[zap.Logger] }

func (z *zapLogger) Printf(_ context.Context, format string, v ...any) {
	if l := z.l.Load(); l != nil {
		l.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}

var (
	redisLog      zapLogger
	redisLogSetup sync.Once
)

// useLogger makes go-redis log through l from now on.
func useLogger(l *zap.Logger) {
	redisLog.l.Store(l.Named("go-redis"))
	redisLogSetup.Do(func() { goredis.SetLogger(&redisLog) })
}
