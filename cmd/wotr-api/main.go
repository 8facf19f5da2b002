// Command wotr-api is the WOTR ingest API. It is configured by environment
// variables (see platform/api.ConfigFromEnv); SIGTERM drains and exits 0.
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

	"github.com/wotr/wotr-tui/cmd/internal/version"
	"github.com/wotr/wotr-tui/platform/api"
)

func main() {
	bootstrap := flag.Bool("bootstrap", false, "create the sources table (and the source named by SEED_SOURCE with SEED_API_KEY) before serving")
	showVersion := flag.Bool("version", false, "print the version, commit and build date and exit")
	flag.Usage = func() { usage(flag.CommandLine.Output()) }
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Get("wotr-api"))
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*bootstrap, log); err != nil {
		log.Error("wotr-api failed", "err", err)
		fmt.Fprintln(os.Stderr, "wotr-api:", err)
		os.Exit(1)
	}
}

func run(bootstrap bool, log *slog.Logger) error {
	cfg, err := api.ConfigFromEnv(nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if bootstrap {
		var seeds []api.Source
		if name, key := os.Getenv("SEED_SOURCE"), os.Getenv("SEED_API_KEY"); name != "" || key != "" {
			seeds = append(seeds, api.Source{Name: name, APIKey: key})
		}
		if err := api.Bootstrap(ctx, cfg.Postgres.DSN(), seeds...); err != nil {
			return err
		}
	}
	srv, err := api.New(cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx, nil)
}

func usage(w io.Writer) {
	api.WriteServiceHelp(w, flag.CommandLine, "wotr-api [--bootstrap]",
		"The WOTR ingest API: POST /v1/events, GET /v1/stats, /health, /ready, /metrics.\n"+
			"SIGTERM fails /ready at once, finishes in-flight requests and exits 0.\n\n"+
			"A 202 means the events are in Kafka. De-dup is two-phase and keyed by source and id:\n"+
			"a pending mark (KAFKA_DELIVERY_TIMEOUT + 2 x DEPENDENCY_TIMEOUT) before the produce,\n"+
			"the done mark (DEDUP_WINDOW) after Kafka acks; an event still pending gets 503 with\n"+
			"Retry-After. With Redis down the API fails open: it produces without de-dup (counted in\n"+
			"wotr_api_dedup_unavailable_total) and ClickHouse removes duplicates by id.\n"+
			"/ready fails only while draining or when Kafka does not answer: Redis, PostgreSQL\n"+
			"(asked only for API keys not cached) and ClickHouse (only /v1/stats) are shared by\n"+
			"every pod, so they do not take pods out of service; their breakers are listed.\n"+
			"More than MAX_IN_FLIGHT concurrent /v1/ requests get 503 with Retry-After.\n"+
			"/v1/stats shows only the API key's own source.",
		append(api.DescribeConfig(),
			api.EnvVar{Name: "SEED_SOURCE", Accepts: "source name (with --bootstrap)"},
			api.EnvVar{Name: "SEED_API_KEY", Accepts: "its API key (with --bootstrap)"}))
}
