package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// fuzzLimits accept any created_at near testNow, so inputs reach the checks
// that matter here.
var fuzzLimits = Limits{MaxBodyBytes: 1 << 20, MaxBatchEvents: 100, MaxPayloadSize: 1 << 16,
	MaxClockSkew: 100 * 365 * 24 * time.Hour, MaxEventAge: 100 * 365 * 24 * time.Hour}

// Whatever the API accepts, the consumer's ParseEvent reads from the Kafka
// record as the same event, with the payload bytes the client sent.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"id":"a","source":"s","type":"t","created_at":"2025-11-19T11:59:00Z","payload":{"q":"&<>"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, _, err := DecodeBody(body, fuzzLimits, fuzzLimits.MaxBatchEvents, testNow, nil)
		if err != nil {
			return
		}
		for _, ev := range events {
			if !bytes.Contains(body, ev.Payload) {
				t.Fatalf("payload %q is not the bytes sent in %q", ev.Payload, body)
			}
			rec := newRecord(ev)
			back, err := ParseEvent(rec.Value, fuzzLimits, testNow)
			if err != nil {
				t.Fatalf("accepted %+v, but its record %s does not parse: %v", ev, rec.Value, err)
			}
			sameEvent(t, ev, back)
		}
	})
}

// ParseEvent and encoding/json agree on every event ParseEvent accepts (it
// refuses what they could read differently), and a record written from it
// reads back the same.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id":"a","source":"s","type":"t","created_at":"2025-11-19T11:59:00Z","payload":{}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := ParseEvent(raw, fuzzLimits, testNow)
		if err != nil {
			return
		}
		var std struct {
			ID, Source, Type string
			Payload          json.RawMessage
		}
		if err := json.Unmarshal(raw, &std); err != nil || std.ID != ev.ID || std.Source != ev.Source || std.Type != ev.Type ||
			!bytes.Equal(bytes.TrimSpace(std.Payload), ev.Payload) {
			t.Fatalf("ParseEvent read %+v, encoding/json %+v (%v) from %q", ev, std, err, raw)
		}
		back, err := ParseEvent(ev.Marshal(), fuzzLimits, testNow)
		if err != nil {
			t.Fatalf("record of %+v does not parse: %v", ev, err)
		}
		sameEvent(t, ev, back)
	})
}

func sameEvent(t *testing.T, want, got Event) {
	t.Helper()
	if got.ID != want.ID || got.Source != want.Source || got.Type != want.Type ||
		!got.CreatedAt.Equal(want.CreatedAt) || !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
}
