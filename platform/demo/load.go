package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load modes.
const (
	ModeSteady = "steady" // a constant rate
	ModeDaily  = "daily"  // a compressed day: night trough, afternoon peak at Rate
)

// Source is one API client the load generator posts as.
type Source struct {
	Name   string `json:"name"`
	APIKey string `json:"-"`
}

// LoadSettings are the knobs adjustable at run time.
type LoadSettings struct {
	// Rate is events per second (the peak in daily mode).
	Rate float64 `json:"rate"`
	Mode string  `json:"mode"`
	// Day is the length of one compressed day in daily mode.
	Day Duration `json:"day"`
	// Skew in [0,1]: 0 spreads events evenly over the sources (and so over
	// Kafka partitions, keyed by source); towards 1 one hot source takes most.
	Skew float64 `json:"skew"`
	// Batch is events per request.
	Batch int `json:"batch"`
	// ConsumerSlowdown is the pause each consumer takes after every batch
	// (CONSUMER_SLOWDOWN on the wotr-consumer Deployment); 0 is full speed.
	ConsumerSlowdown Duration `json:"consumer_slowdown"`
}

// Duration marshals as a Go duration string ("250ms").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: must be a string like \"250ms\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}

// Limits of the settings.
const (
	MaxRate  = 100000
	MaxBatch = 1000
)

// Validate names the first value that breaks a rule.
func (s LoadSettings) Validate() error {
	switch {
	case math.IsNaN(s.Rate) || s.Rate < 0 || s.Rate > MaxRate:
		return fmt.Errorf("rate %v: must be between 0 and %d events/s", s.Rate, MaxRate)
	case s.Mode != ModeSteady && s.Mode != ModeDaily:
		return fmt.Errorf("mode %q: must be %s or %s", s.Mode, ModeSteady, ModeDaily)
	case time.Duration(s.Day) < 10*time.Second || time.Duration(s.Day) > 48*time.Hour:
		return fmt.Errorf("day %s: must be between 10s and 48h", time.Duration(s.Day))
	case math.IsNaN(s.Skew) || s.Skew < 0 || s.Skew > 1:
		return fmt.Errorf("skew %v: must be between 0 and 1", s.Skew)
	case s.Batch < 1 || s.Batch > MaxBatch:
		return fmt.Errorf("batch %d: must be between 1 and %d", s.Batch, MaxBatch)
	case s.ConsumerSlowdown < 0 || time.Duration(s.ConsumerSlowdown) > time.Hour:
		return fmt.Errorf("consumer_slowdown %s: must be between 0 and 1h", time.Duration(s.ConsumerSlowdown))
	}
	return nil
}

// DefaultLoadSettings: a steady, even 200 events/s.
func DefaultLoadSettings() LoadSettings {
	return LoadSettings{Rate: 200, Mode: ModeSteady, Day: Duration(10 * time.Minute), Batch: 10}
}

// LoadStats are counters since start.
type LoadStats struct {
	Settings      LoadSettings `json:"settings"`
	CurrentRate   float64      `json:"current_rate"` // target events/s right now
	Sent          int64        `json:"sent"`         // events in requests answered 2xx
	Failed        int64        `json:"failed"`       // events in requests that failed
	Dropped       int64        `json:"dropped"`      // events not sent: too many requests in flight
	LastError     string       `json:"last_error,omitempty"`
	LastErrorTime time.Time    `json:"last_error_time,omitzero"`
}

// LoadOptions configures a LoadGenerator.
type LoadOptions struct {
	// URL of the API's frontend (HAProxy), e.g. http://127.0.0.1:8080.
	URL     string
	Sources []Source
	// Settings at start; zero value means DefaultLoadSettings.
	Settings *LoadSettings
	// SetConsumerSlowdown applies ConsumerSlowdown (the demo patches the Deployment).
	SetConsumerSlowdown func(context.Context, time.Duration) error
	// MaxInFlight requests; default 32.
	MaxInFlight int
	Logger      *slog.Logger
}

// LoadGenerator posts events to the API at an adjustable rate.
type LoadGenerator struct {
	opts   LoadOptions
	client *http.Client
	log    *slog.Logger

	mu       sync.Mutex
	settings LoadSettings
	lastErr  string
	lastErrT time.Time
	start    time.Time

	sent, failed, dropped atomic.Int64
	seq                   atomic.Int64
	sem                   chan struct{}
	cancel                context.CancelFunc
	wg                    sync.WaitGroup
}

// NewLoadGenerator validates options.
func NewLoadGenerator(opts LoadOptions) (*LoadGenerator, error) {
	if !strings.HasPrefix(opts.URL, "http://") && !strings.HasPrefix(opts.URL, "https://") {
		return nil, fmt.Errorf("load: url %q: must start with http:// or https://", opts.URL)
	}
	if len(opts.Sources) == 0 {
		return nil, fmt.Errorf("load: no sources: at least one name and API key")
	}
	s := DefaultLoadSettings()
	if opts.Settings != nil {
		s = *opts.Settings
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = 32
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: opts.MaxInFlight, IdleConnTimeout: 30 * time.Second}
	return &LoadGenerator{opts: opts, settings: s, log: opts.Logger,
		client: &http.Client{Timeout: 10 * time.Second, Transport: tr},
		sem:    make(chan struct{}, opts.MaxInFlight)}, nil
}

// Start sends load until Stop.
func (g *LoadGenerator) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.start = time.Now()
	g.wg.Add(1)
	go g.run(ctx)
}

// Stop ends the load and waits for requests in flight.
func (g *LoadGenerator) Stop() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
	g.client.CloseIdleConnections()
}

// Settings returns the current settings.
func (g *LoadGenerator) Settings() LoadSettings {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.settings
}

// Update applies new settings; invalid ones change nothing. A changed
// ConsumerSlowdown is applied through SetConsumerSlowdown first.
func (g *LoadGenerator) Update(ctx context.Context, s LoadSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	old := g.Settings()
	if s.ConsumerSlowdown != old.ConsumerSlowdown {
		if g.opts.SetConsumerSlowdown == nil {
			return fmt.Errorf("consumer_slowdown: not adjustable here")
		}
		if err := g.opts.SetConsumerSlowdown(ctx, time.Duration(s.ConsumerSlowdown)); err != nil {
			return fmt.Errorf("consumer_slowdown %s: %w", time.Duration(s.ConsumerSlowdown), err)
		}
	}
	g.mu.Lock()
	g.settings = s
	g.mu.Unlock()
	g.log.Info("load settings", "rate", s.Rate, "mode", s.Mode, "skew", s.Skew, "consumer_slowdown", time.Duration(s.ConsumerSlowdown))
	return nil
}

// Stats returns the counters.
func (g *LoadGenerator) Stats() LoadStats {
	g.mu.Lock()
	s, le, lt := g.settings, g.lastErr, g.lastErrT
	g.mu.Unlock()
	return LoadStats{Settings: s, CurrentRate: rateAt(s, time.Since(g.start)), Sent: g.sent.Load(),
		Failed: g.failed.Load(), Dropped: g.dropped.Load(), LastError: le, LastErrorTime: lt}
}

// rateAt is the target rate at elapsed time since start.
func rateAt(s LoadSettings, elapsed time.Duration) float64 {
	if s.Mode != ModeDaily {
		return s.Rate
	}
	// The day starts at midnight: 10% of peak at night, peak in mid-afternoon.
	phase := math.Mod(elapsed.Seconds(), time.Duration(s.Day).Seconds()) / time.Duration(s.Day).Seconds()
	return s.Rate * (0.55 - 0.45*math.Cos(2*math.Pi*(phase-0.125)))
}

// pickSource draws a source index: weight (1-skew)^i, uniform at skew 0.
func pickSource(n int, skew float64, r *rand.Rand) int {
	if n <= 1 || skew <= 0 {
		return r.IntN(max(n, 1))
	}
	if skew >= 1 {
		return 0
	}
	q := 1 - skew
	total := (1 - math.Pow(q, float64(n))) / (1 - q)
	x := r.Float64() * total
	w := 1.0
	for i := 0; i < n; i++ {
		if x < w {
			return i
		}
		x -= w
		w *= q
	}
	return n - 1
}

var eventTypes = []string{"page/view", "click", "purchase", "signup", "search"}

func (g *LoadGenerator) run(ctx context.Context) {
	defer g.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	last := time.Now()
	var owed float64
	// Pending events per source, flushed as a batch when full or on the tick.
	pending := map[int]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s := g.Settings()
			owed += rateAt(s, now.Sub(g.start)) * now.Sub(last).Seconds()
			last = now
			// Never build a backlog of more than a second: a stalled API should
			// not be hit by a burst when it comes back.
			owed = min(owed, max(rateAt(s, now.Sub(g.start)), 1))
			n := int(owed)
			owed -= float64(n)
			for i := 0; i < n; i++ {
				pending[pickSource(len(g.opts.Sources), s.Skew, r)]++
			}
			for src, cnt := range pending {
				for cnt > 0 {
					b := min(cnt, s.Batch)
					cnt -= b
					g.send(ctx, src, b)
				}
				delete(pending, src)
			}
		}
	}
}

func (g *LoadGenerator) send(ctx context.Context, src, n int) {
	select {
	case g.sem <- struct{}{}:
	default:
		g.dropped.Add(int64(n))
		return
	}
	source := g.opts.Sources[src]
	var buf bytes.Buffer
	buf.WriteByte('[')
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		seq := g.seq.Add(1)
		fmt.Fprintf(&buf, `{"id":"load-%d-%d","source":%q,"type":%q,"created_at":%q,"payload":{"seq":%d,"value":%d}}`,
			g.start.UnixNano(), seq, source.Name, eventTypes[seq%int64(len(eventTypes))], now, seq, seq%1000)
	}
	buf.WriteByte(']')
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.sem }()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.opts.URL+"/v1/events", &buf)
		if err != nil {
			g.fail(n, err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", source.APIKey)
		resp, err := g.client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				g.fail(n, err)
			}
			return
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			g.fail(n, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body))))
			return
		}
		g.sent.Add(int64(n))
	}()
}

func (g *LoadGenerator) fail(n int, err error) {
	g.failed.Add(int64(n))
	g.mu.Lock()
	g.lastErr = err.Error()
	g.lastErrT = time.Now()
	g.mu.Unlock()
}

// ControlHelp documents the control endpoint (also shown by `wotr-tui demo --help`).
const ControlHelp = `Load control (HTTP on the control address the demo prints):
  GET  /load                         settings and counters as JSON
  POST /load?rate=500                events per second (peak in daily mode), 0..100000
  POST /load?mode=daily&day=10m      daily pattern over a compressed day; mode=steady for a flat rate
  POST /load?skew=0.8                0 spreads events evenly over sources/partitions, 1 sends all to one
  POST /load?batch=50                events per request, 1..1000
  POST /load?consumer_slowdown=1s    consumers pause after each batch of at most 20 records, so lag
                                     builds (sets env on wotr-consumer, which rolls it); 0 restores
  GET  /instances                    the local processes standing for pods
  POST /load with a JSON body {"rate":500,"mode":"steady",...} sets several at once.
Example: curl -X POST 'http://CONTROL/load?rate=1000&skew=0.5'

Faults (the platform runs a TCP proxy in front of every store, and one in front
of each API instance; pods reach the stores, and HAProxy the instances, through
them):
  GET    /faults                     proxies (name, address, target, fault) and processes
  POST   /faults/NAME                set one fault: {"latency":"200ms"} | {"blackhole":true}
                                     | {"reset":true} | {"bandwidth":"100KiB"} (bytes/s)
  DELETE /faults/NAME                forward unchanged again
  POST   /processes/NAME/ACTION      ACTION kill, pause or resume; NAME a platform process
                                     (redis-primary, postgres-primary, ...; not restarted)
                                     or a pod (restarted by the supervisor with back-off)
Proxies: redis-primary, redis-replica, postgres-primary, postgres-standby,
kafka-N, clickhouse-SHARD-REPLICA, api-instance-POD.
Example: curl -X POST -d '{"blackhole":true}' http://CONTROL/faults/redis-primary`

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ControlHandler serves the load control API; instances may be nil.
func ControlHandler(g *LoadGenerator, instances func() []Instance) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /load", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, g.Stats()) })
	mux.HandleFunc("POST /load", func(w http.ResponseWriter, r *http.Request) {
		s, err := settingsFromRequest(g.Settings(), r)
		if err == nil {
			err = g.Update(r.Context(), s)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, g.Stats())
	})
	mux.HandleFunc("GET /instances", func(w http.ResponseWriter, r *http.Request) {
		var in []Instance
		if instances != nil {
			in = instances()
		}
		writeJSON(w, 200, in)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, ControlHelp)
	})
	return mux
}

func settingsFromRequest(s LoadSettings, r *http.Request) (LoadSettings, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return s, fmt.Errorf("body: %v", err)
		}
	}
	q := r.URL.Query()
	for key, vals := range q {
		v := vals[len(vals)-1]
		var err error
		switch key {
		case "rate":
			s.Rate, err = strconv.ParseFloat(v, 64)
		case "mode":
			s.Mode = v
		case "skew":
			s.Skew, err = strconv.ParseFloat(v, 64)
		case "batch":
			s.Batch, err = strconv.Atoi(v)
		case "day":
			var d time.Duration
			d, err = time.ParseDuration(v)
			s.Day = Duration(d)
		case "consumer_slowdown", "slowdown":
			var d time.Duration
			if v != "0" {
				d, err = time.ParseDuration(v)
			}
			s.ConsumerSlowdown = Duration(d)
		default:
			return s, fmt.Errorf("parameter %q: unknown (rate, mode, day, skew, batch, consumer_slowdown)", key)
		}
		if err != nil {
			return s, fmt.Errorf("parameter %s=%q: %v", key, v, err)
		}
	}
	return s, nil
}

// ServeControl listens on addr (127.0.0.1:0 for a free port) and serves h
// until ctx ends; it returns the bound address.
func ServeControl(ctx context.Context, addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("control address %q: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), nil
}
