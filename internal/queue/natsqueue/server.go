package natsqueue

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds the embedded server's start.
const readyTimeout = 30 * time.Second

// embedded is a JetStream server in this process. It listens on no port: clients
// connect in process.
type embedded struct {
	srv  *server.Server
	temp string // a temporary store directory to remove at shutdown, or ""
	log  *slog.Logger
}

// startEmbedded starts a JetStream server storing under dir, or under a new
// temporary directory when dir is empty.
func startEmbedded(dir string, log *slog.Logger) (*embedded, error) {
	e := &embedded{log: log}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ecluse-nats-")
		if err != nil {
			return nil, fmt.Errorf("natsqueue: embedded server directory: %w", err)
		}
		dir, e.temp = tmp, tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsqueue: embedded server directory: %w", err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "ecluse-embedded",
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true,
		NoSigs:     true,
	})
	if err != nil {
		e.removeTemp()
		return nil, fmt.Errorf("natsqueue: embedded server: %w", err)
	}
	srv.SetLoggerV2(serverLog{log}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		e.removeTemp()
		return nil, fmt.Errorf("natsqueue: embedded server not ready after %v", readyTimeout)
	}
	e.srv = srv
	return e, nil
}

func (e *embedded) shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	e.removeTemp()
}

func (e *embedded) removeTemp() {
	if e.temp != "" {
		removeTemp(e.temp, e.log)
	}
}

// serverLog passes the embedded server's warnings and errors to slog; its notices,
// debug and trace lines are dropped.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Noticef(string, ...any) {}
func (l serverLog) Debugf(string, ...any)  {}
func (l serverLog) Tracef(string, ...any)  {}

func (l serverLog) Warnf(format string, v ...any) {
	l.log.Warn("embedded nats server", "detail", fmt.Sprintf(format, v...))
}

func (l serverLog) Errorf(format string, v ...any) {
	l.log.Error("embedded nats server", "detail", fmt.Sprintf(format, v...))
}

func (l serverLog) Fatalf(format string, v ...any) {
	l.log.Error("embedded nats server fatal error", "detail", fmt.Sprintf(format, v...))
}
