package main

import (
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/dingq/dingq/cmd/internal/config"
)

// newLogger builds the process's one logger: JSON lines, or a console layout for people.
func newLogger(cfg config.Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
