package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// IngestResponse is the 202 body.
type IngestResponse struct {
	Accepted int `json:"accepted"`
	// Duplicates lists ids already ingested within the de-dup window; they
	// count as accepted but were not produced again.
	Duplicates []string `json:"duplicates,omitempty"`
}

// PartialFailure is the 503 body when not every event is known to be in
// Kafka: ids in Written are safe (a retry of them is de-duplicated), Failed
// and Pending must be retried.
type PartialFailure struct {
	Error   string   `json:"error"`
	Written []string `json:"written"`
	Failed  []string `json:"failed"`
	// Pending ids are being written by another request right now; retry them.
	Pending []string `json:"pending,omitempty"`
}

// APIKeyHeader carries the source's API key; "Authorization: Bearer" works too.
const APIKeyHeader = "X-API-Key"

func apiKey(r *http.Request) string {
	if k := r.Header.Get(APIKeyHeader); k != "" {
		return k
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// authenticate answers the request itself and returns ok=false on failure.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := apiKey(r)
	if key == "" {
		s.fail(w, http.StatusUnauthorized, "missing API key: send it in the "+APIKeyHeader+" header")
		return "", false
	}
	source, err := s.auth.Source(r.Context(), key)
	switch {
	case errors.Is(err, ErrUnknownKey):
		s.fail(w, http.StatusUnauthorized, "unknown or inactive API key")
		return "", false
	case err != nil:
		s.unavailable(w, err)
		return "", false
	}
	return source, true
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	source, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		s.fail(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: must be application/json", ct))
		return
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxBodyBytes))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", mbe.Limit))
			return
		}
		s.fail(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	events, rejected, err := DecodeBody(body, s.cfg.Limits, s.cfg.Limits.MaxBatchEvents, s.now(), func(ev Event) error {
		if ev.Source != source {
			return fmt.Errorf("source %q does not match the API key's source %q", ev.Source, source)
		}
		return nil
	})
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(rejected) > 0 {
		// All or nothing: a partly accepted batch is hard for clients to retry.
		total := len(events) + len(rejected)
		s.metrics.rejected.Add(float64(total))
		writeJSON(w, http.StatusBadRequest, errorBody{
			Error:    fmt.Sprintf("%d of %d events rejected; nothing was ingested", len(rejected), total),
			Rejected: rejected,
		})
		return
	}
	if s.kGuard.Open() {
		s.unavailable(w, &UnavailableError{Dep: DepKafka, RetryAfter: s.cfg.BreakerOpenFor, Err: errors.New("circuit open")})
		return
	}
	resp, fail, err := s.ingest(r.Context(), source, events)
	switch {
	case fail != nil:
		w.Header().Set("Retry-After", "1")
		if len(fail.Failed) > 0 {
			s.metrics.depErrors.WithLabelValues(DepKafka).Inc()
		}
		writeJSON(w, http.StatusServiceUnavailable, fail)
	case err != nil:
		s.unavailable(w, err)
	case len(resp.Duplicates) == 0:
		// The common answer, written without an encoder.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		out := append(append(buf.AvailableBuffer(), `{"accepted":`...), strconv.Itoa(resp.Accepted)...)
		_, _ = w.Write(append(out, "}\n"...))
	default:
		writeJSON(w, http.StatusAccepted, resp)
	}
}

// bodyBuffers keeps request body buffers between requests; decoded events
// copy what they keep, so a buffer is free again once the answer is written.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps one large batch from pinning its buffer for good.
const maxPooledBody = 256 << 10

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}

// ingest de-duplicates and produces; it returns a PartialFailure when Kafka
// failed some or all records or another request is still producing some.
func (s *Server) ingest(ctx context.Context, source string, events []Event) (*IngestResponse, *PartialFailure, error) {
	resp := &IngestResponse{Accepted: len(events)}
	// Duplicates inside one request are dropped before asking Redis.
	uniq := events
	if len(events) > 1 {
		seen := make(map[string]struct{}, len(events))
		uniq = events[:0:0]
		for _, ev := range events {
			if _, dup := seen[ev.ID]; dup {
				resp.Duplicates = append(resp.Duplicates, ev.ID)
				continue
			}
			seen[ev.ID] = struct{}{}
			uniq = append(uniq, ev)
		}
	}
	keys := make([]string, len(uniq))
	for i, ev := range uniq {
		keys[i] = DedupKey(source, ev.ID)
	}
	states, err := s.dedup.Claim(ctx, keys)
	if err != nil && ctx.Err() != nil {
		// The client gave up; the de-dup worker releases what it claimed.
		return nil, nil, &UnavailableError{Dep: DepRedis, RetryAfter: time.Second, Err: err}
	}
	claimed := err == nil
	if !claimed {
		// Fail open: ingest stays up without Redis, and ClickHouse removes
		// duplicates by id. No 202 depends on a mark.
		s.metrics.dedupFails.Inc()
		s.log.Warn("de-dup unavailable; producing without it", "err", err)
	}
	var toSend []Event
	var sendKeys, pending []string
	for i, ev := range uniq {
		switch {
		case !claimed || states[i] == Claimed:
			toSend = append(toSend, ev)
			sendKeys = append(sendKeys, keys[i])
		case states[i] == Pending:
			pending = append(pending, ev.ID)
		default:
			resp.Duplicates = append(resp.Duplicates, ev.ID)
		}
	}
	s.metrics.duplicate.Add(float64(len(resp.Duplicates)))
	s.metrics.pending.Add(float64(len(pending)))
	inProgress := func(written []string) *PartialFailure {
		if written == nil {
			written = []string{}
		}
		return &PartialFailure{
			Error:   fmt.Sprintf("%d events are being written by another request: retry them after Retry-After", len(pending)),
			Written: append(written, resp.Duplicates...), Pending: pending, Failed: []string{},
		}
	}
	if len(toSend) == 0 {
		if len(pending) > 0 {
			return nil, inProgress(nil), nil
		}
		return resp, nil, nil
	}
	recs := make([]*kgo.Record, len(toSend))
	for i, ev := range toSend {
		recs[i] = newRecord(ev)
	}
	// Once claimed, the produce and the commit finish even if the client
	// leaves: its retry then finds the done mark instead of a release race.
	wctx := context.WithoutCancel(ctx)
	var errs []error
	perr := s.kGuard.Once(wctx, func(ctx context.Context) error {
		errs = s.producers.Produce(ctx, recs)
		return errors.Join(errs...)
	})
	if perr != nil && errs == nil { // the breaker refused before producing anything
		if claimed {
			s.release(sendKeys)
		}
		return nil, nil, perr
	}
	var written, failed, writtenKeys, failedKeys []string
	for i, ev := range toSend {
		if errs != nil && errs[i] != nil {
			failed, failedKeys = append(failed, ev.ID), append(failedKeys, sendKeys[i])
		} else {
			written, writtenKeys = append(written, ev.ID), append(writtenKeys, sendKeys[i])
		}
	}
	if claimed {
		s.release(failedKeys)
	}
	// Without a claim the done mark is still worth setting: it saves a retry
	// from producing again.
	s.dedup.Commit(writtenKeys)
	s.metrics.accepted.Add(float64(len(written)))
	s.metrics.failed.Add(float64(len(failed)))
	if perr != nil {
		fail := &PartialFailure{Error: "events not written to kafka: " + firstErr(errs).Error(),
			Written: append(written, resp.Duplicates...), Failed: failed, Pending: pending}
		return nil, fail, nil
	}
	if len(pending) > 0 {
		return nil, inProgress(written), nil
	}
	return resp, nil, nil
}

// newRecord keys the event by source and carries its id in a header; key,
// header and value share one allocation.
func newRecord(ev Event) *kgo.Record {
	b := make([]byte, 0, len(ev.Source)+len(ev.ID)+80+len(ev.Type)+len(ev.Payload))
	b = append(append(b, ev.Source...), ev.ID...)
	key, id := b[:len(ev.Source):len(ev.Source)], b[len(ev.Source):len(b):len(b)]
	return &kgo.Record{
		Key:     key,
		Value:   ev.AppendMarshal(b[len(b):]),
		Headers: []kgo.RecordHeader{{Key: "event-id", Value: id}},
	}
}

func (s *Server) release(keys []string) {
	if len(keys) == 0 {
		return
	}
	// The request may be gone; the release must still happen.
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DepTimeout)
	defer cancel()
	if err := s.dedup.Release(ctx, keys); err != nil {
		s.log.Warn("de-dup release failed; retries of these events get 503 until the pending marks expire",
			"events", len(keys), "pending_ttl", s.dedup.pendingTTL, "err", err)
	}
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
