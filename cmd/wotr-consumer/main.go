// Command wotr-consumer moves events from Kafka ingest-events into ClickHouse.
// It is configured by environment variables (see platform/consumer.ConfigFromEnv);
// SIGTERM gives the current batch SHUTDOWN_TIMEOUT to finish and commit (past
// it the batch is abandoned uncommitted and read again), leaves the group and
// exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wotr/wotr-tui/cmd/internal/version"
	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/consumer"
)

func main() {
	slowdown := flag.Duration("slowdown", -1, "pause after every batch (overrides CONSUMER_SLOWDOWN; makes lag build up)")
	showVersion := flag.Bool("version", false, "print the version, commit and build date and exit")
	flag.Usage = func() { usage(flag.CommandLine.Output()) }
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Get("wotr-consumer"))
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*slowdown, log); err != nil {
		log.Error("wotr-consumer failed", "err", err)
		fmt.Fprintln(os.Stderr, "wotr-consumer:", err)
		os.Exit(1)
	}
}

func run(slowdown time.Duration, log *slog.Logger) error {
	cfg, err := consumer.ConfigFromEnv(nil)
	if err != nil {
		return err
	}
	if slowdown >= 0 {
		cfg.Slowdown = slowdown
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	c, err := consumer.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		errc <- c.Serve(ctx, func(addr string) { log.Info("wotr-consumer serving /health and /metrics", "addr", addr) })
	}()
	if err := c.Run(ctx); err != nil {
		return err
	}
	stop()
	return <-errc
}

func usage(w io.Writer) {
	api.WriteServiceHelp(w, flag.CommandLine, "wotr-consumer [--slowdown DURATION]",
		"Moves events from Kafka into ClickHouse in batches, committing offsets after each insert;\n"+
			"records that cannot be stored go to the dead-letter topic. Serves /health and /metrics.\n"+
			"SIGTERM gives the current batch SHUTDOWN_TIMEOUT to finish and commit, then abandons it\n"+
			"uncommitted (it is read again), leaves the group and exits 0. A batch past BATCH_TIMEOUT\n"+
			"is abandoned the same way; /health answers 503 once records wait uncommitted longer than\n"+
			"HEALTH_STUCK_AFTER.",
		consumer.DescribeConfig())
}
