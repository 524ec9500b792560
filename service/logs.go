package service

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// reopenFile is an append-only log file that SIGHUP reopens (logrotate).
type reopenFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openLogFile(path string) (*reopenFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, configErrorf("config: ARAGORA_LOG_DIR: %w", err)
	}
	return &reopenFile{path: path, f: f}, nil
}

func (r *reopenFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(b)
}

func (r *reopenFile) reopen() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	return old.Close()
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// logs builds the component loggers of docs/operations.md: one file per
// component under LogDir (WARN and above also on stderr), else stderr.
type logs struct {
	files  map[string]*reopenFile
	level  slog.Level
	format string // for files (or everything without a dir)
	errFmt string // stderr format
	stderr io.Writer
}

func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

func newLogs(c Config, stderr io.Writer) (*logs, error) {
	l := &logs{files: map[string]*reopenFile{}, level: parseLevel(c.LogLevel), stderr: stderr}
	l.errFmt = "text"
	if c.Env != "development" {
		l.errFmt = "json"
	}
	l.format = "text"
	if c.LogFormat != "" {
		l.format, l.errFmt = c.LogFormat, c.LogFormat
	}
	if c.LogDir != "" {
		if err := os.MkdirAll(c.LogDir, 0o750); err != nil {
			return nil, configErrorf("config: ARAGORA_LOG_DIR=%q: %w", c.LogDir, err)
		}
		for _, name := range []string{"api", "websocket", "debate", "agent"} {
			f, err := openLogFile(filepath.Join(c.LogDir, name+".log"))
			if err != nil {
				l.Close()
				return nil, err
			}
			l.files[name] = f
		}
	}
	return l, nil
}

func replaceAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Key {
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.String("timestamp", t.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		}
		a.Key = "timestamp"
	case slog.LevelKey:
		a.Value = slog.StringValue(strings.ToUpper(a.Value.String()))
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

func handlerFor(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: replaceAttr}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// fileFor maps a logger name to its file.
func fileFor(name string) string {
	switch {
	case name == "aragora.websocket":
		return "websocket"
	case strings.HasPrefix(name, "aragora.debate"), name == "aragora.nomic":
		return "debate"
	case strings.HasPrefix(name, "aragora.agent"), name == "aragora.breaker":
		return "agent"
	}
	return "api"
}

// logger returns the logger named name ("aragora.api", …).
func (l *logs) logger(name string) *slog.Logger {
	var h slog.Handler
	if f := l.files[fileFor(name)]; f != nil {
		h = teeHandler{handlerFor(f, l.format, l.level), handlerFor(l.stderr, l.errFmt, slog.LevelWarn)}
	} else {
		h = handlerFor(l.stderr, l.errFmt, l.level)
	}
	return slog.New(h).With("logger", name)
}

func (l *logs) reopen() {
	for _, f := range l.files {
		_ = f.reopen()
	}
}

func (l *logs) Close() {
	for _, f := range l.files {
		_ = f.Close()
	}
}

// teeHandler writes each record to both handlers that accept its level.
type teeHandler [2]slog.Handler

func (t teeHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return t[0].Enabled(ctx, lv) || t[1].Enabled(ctx, lv)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if e := h.Handle(ctx, r.Clone()); e != nil {
				err = e
			}
		}
	}
	return err
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t[0].WithAttrs(as), t[1].WithAttrs(as)}
}

func (t teeHandler) WithGroup(g string) slog.Handler {
	return teeHandler{t[0].WithGroup(g), t[1].WithGroup(g)}
}
