package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 11, 19, 12, 0, 0, 0, time.UTC)

func TestDecodeBody(t *testing.T) {
	lim := DefaultLimits()
	ev := func(id string) string {
		return `{"id":"` + id + `","source":"shop","type":"order.created","created_at":"2025-11-19T11:59:00Z","payload":{"n":1}}`
	}
	cases := []struct {
		name, body string
		ok         []string // ids accepted
		rejected   []string // "index:reason part"
		errHas     string
	}{
		{"single", ev("a"), []string{"a"}, nil, ""},
		{"single with spaces", " \n" + ev("a") + "\n ", []string{"a"}, nil, ""},
		{"batch", ` [` + ev("a") + `, ` + ev("b") + `] `, []string{"a", "b"}, nil, ""},
		{"batch with a bad event", `[` + ev("a") + `,{"id":"b","source":5},` + ev("c") + `]`, []string{"a", "c"}, []string{`1:field "source" must be a string`}, ""},
		{"batch element not an object", `[` + ev("a") + `,7]`, []string{"a"}, []string{"1:event must be a JSON object, got a number"}, ""},
		{"unknown field", `{"id":"a","extra":1}`, nil, []string{`0:unknown field "extra"`}, ""},
		{"empty", "  ", nil, nil, "body is empty"},
		{"empty array", "[ ]", nil, nil, "batch is empty"},
		{"malformed", `{"id": "a",}`, nil, nil, "malformed JSON at byte"},
		{"malformed in batch", `[` + ev("a") + `,{"id":}]`, nil, nil, "malformed JSON at byte"},
		{"truncated", `[{"id":"a"}`, nil, nil, "malformed JSON"},
		{"trailing data", ev("a") + ` {}`, nil, nil, "data after the top-level value"},
		{"trailing data after batch", `[` + ev("a") + `] 1`, nil, nil, "data after the top-level value"},
		{"scalar", `"hello"`, nil, nil, "got a string"},
		{"too many", "[" + strings.TrimSuffix(strings.Repeat(ev("x")+",", 5), ",") + "]", nil, nil, "batch has 5 events: at most 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			events, rejected, err := DecodeBody([]byte(c.body), lim, 3, testNow, nil)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want it to contain %q", err, c.errHas)
				}
				if events != nil || rejected != nil {
					t.Fatalf("a rejected body still returned events %v / %v", events, rejected)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range events {
				ids = append(ids, e.ID)
			}
			if strings.Join(ids, ",") != strings.Join(c.ok, ",") {
				t.Fatalf("accepted %v, want %v", ids, c.ok)
			}
			if len(rejected) != len(c.rejected) {
				t.Fatalf("rejected %+v, want %v", rejected, c.rejected)
			}
			for i, r := range rejected {
				idx, reason, _ := strings.Cut(c.rejected[i], ":")
				if fmt.Sprint(r.Index) != idx || !strings.Contains(r.Reason, reason) {
					t.Fatalf("rejection %d = %+v, want index %s and %q", i, r, idx, reason)
				}
			}
		})
	}
}

// The caller's check rejects an event by its index without touching the others.
func TestDecodeBodyCheck(t *testing.T) {
	body := `[{"id":"a","source":"shop","type":"t","created_at":"2025-11-19T11:59:00Z","payload":{}},` +
		`{"id":"b","source":"other","type":"t","created_at":"2025-11-19T11:59:00Z","payload":{}}]`
	events, rejected, err := DecodeBody([]byte(body), DefaultLimits(), 10, testNow, func(e Event) error {
		if e.Source != "shop" {
			return fmt.Errorf("source %q not allowed", e.Source)
		}
		return nil
	})
	if err != nil || len(events) != 1 || events[0].ID != "a" || len(rejected) != 1 || rejected[0].Index != 1 || rejected[0].ID != "b" {
		t.Fatalf("events %+v rejected %+v err %v", events, rejected, err)
	}
}

func TestParseEvent(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxPayloadSize = 32
	valid := map[string]any{"id": "evt-1", "source": "shop", "type": "order.created", "created_at": "2025-11-19T11:59:00.123Z", "payload": map[string]any{"n": 1}}
	with := func(k string, v any) json.RawMessage {
		m := map[string]any{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	ev, err := ParseEvent(with("id", "evt-1"), lim, testNow)
	if err != nil {
		t.Fatalf("valid event rejected: %v", err)
	}
	if ev.ID != "evt-1" || ev.Source != "shop" || ev.Type != "order.created" || string(ev.Payload) != `{"n":1}` ||
		!ev.CreatedAt.Equal(time.Date(2025, 11, 19, 11, 59, 0, 123e6, time.UTC)) {
		t.Fatalf("parsed %+v", ev)
	}

	bad := []struct {
		name   string
		raw    json.RawMessage
		errHas string
	}{
		{"missing id", with("id", nil), `missing required field "id"`},
		{"empty source", with("source", ""), `field "source" is empty`},
		{"missing type", with("type", nil), `missing required field "type"`},
		{"id wrong type", with("id", 5), `field "id" must be a string`},
		{"id bad char", with("id", "a b"), `has character ' '`},
		{"id too long", with("id", strings.Repeat("x", MaxIDLen+1)), "at most 128"},
		{"missing created_at", with("created_at", nil), `missing required field "created_at"`},
		{"created_at not RFC3339", with("created_at", "19/11/2025"), "not an RFC 3339 timestamp"},
		{"far future", with("created_at", "2025-11-19T13:00:00Z"), "in the future: at most 5m0s ahead"},
		{"too old", with("created_at", "2020-01-01T00:00:00Z"), "too old"},
		{"missing payload", with("payload", nil), `missing required field "payload"`},
		{"payload not object", with("payload", []int{1}), "payload must be a JSON object, got an array"},
		{"payload too big", with("payload", map[string]string{"k": strings.Repeat("x", 40)}), "at most 32 bytes"},
		{"unknown field", json.RawMessage(`{"id":"a","extra":1}`), `unknown field "extra"`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseEvent(c.raw, lim, testNow)
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("err = %v, want it to contain %q", err, c.errHas)
			}
		})
	}
}

func TestEventMarshalRoundTrip(t *testing.T) {
	ev := Event{ID: "a", Source: "s", Type: "t", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC), Payload: json.RawMessage(`{"x":"<y>"}`)}
	got, err := ParseEvent(ev.Marshal(), Limits{MaxPayloadSize: 100, MaxClockSkew: time.Hour, MaxEventAge: 1e6 * time.Hour}, ev.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(ev.CreatedAt) || got.ID != ev.ID {
		t.Fatalf("round trip: %+v", got)
	}
	var a, b any
	_ = json.Unmarshal(got.Payload, &a)
	_ = json.Unmarshal(ev.Payload, &b)
	if a.(map[string]any)["x"] != b.(map[string]any)["x"] {
		t.Fatalf("payload changed: %s", got.Payload)
	}
}

// The record carries the payload byte for byte (no \u0026 for "&", no
// compaction), escapes names that need it, and is valid JSON that ParseEvent
// reads back to the same event.
func TestEventMarshalKeepsPayloadBytes(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))
	lim := Limits{MaxPayloadSize: 1 << 10, MaxClockSkew: time.Hour, MaxEventAge: time.Hour}
	cases := []Event{
		{ID: "evt-1", Source: "shop", Type: "order.created", CreatedAt: at, Payload: json.RawMessage(`{"n":1}`)},
		{ID: "evt-2", Source: "shop", Type: "user/signup", CreatedAt: at, Payload: json.RawMessage("{ \"a\" : [1, 2],\n \"b\": {} }")},
		{ID: "q\"uote", Source: "s\\", Type: "é", CreatedAt: at, Payload: json.RawMessage(`{"x":"<y>&","u":"\u00e9\u2028"}`)},
	}
	for _, ev := range cases {
		rec := ev.Marshal()
		if !json.Valid(rec) {
			t.Fatalf("Marshal(%+v) is not JSON: %s", ev, rec)
		}
		if !strings.Contains(string(rec), `"payload":`+string(ev.Payload)+"}") {
			t.Errorf("payload not kept byte for byte: %s", rec)
		}
		var std struct{ ID, Source, Type string }
		if err := json.Unmarshal(rec, &std); err != nil || std.ID != ev.ID || std.Source != ev.Source || std.Type != ev.Type {
			t.Errorf("encoding/json reads %s as %+v (%v)", rec, std, err)
		}
		got, err := parseWire(rec)
		if err != nil || *got.ID != ev.ID || string(got.Payload) != string(ev.Payload) {
			t.Errorf("parseWire(%s) = %+v, %v", rec, got, err)
		}
		if got := ev.AppendMarshal([]byte("prefix")); string(got) != "prefix"+string(rec) {
			t.Errorf("AppendMarshal wrote %q", got)
		}
	}
	ev := cases[0]
	ev.CreatedAt = testNow
	back, err := ParseEvent(ev.Marshal(), lim, testNow)
	if err != nil || back.ID != ev.ID || !back.CreatedAt.Equal(ev.CreatedAt) || string(back.Payload) != string(ev.Payload) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

// Field names match exactly and once: encoding/json would take "ID" for
// "id" and let the last "id" win, so two readers could disagree.
func TestDecodeRefusesDuplicateAndCaseVariantFields(t *testing.T) {
	rest := `"source":"shop","type":"t","created_at":"2025-11-19T11:59:00Z","payload":{"id":1,"id":2}`
	cases := []struct{ body, reason string }{
		{`{"id":"a","id":"b",` + rest + `}`, `duplicate field "id": each field may appear only once`},
		{`{"id":"a","i\u0064":"b",` + rest + `}`, `duplicate field "id"`},
		{`{"ID":"a",` + rest + `}`, `field "ID": field names are case-sensitive, use "id"`},
		{`{"id":"a",` + strings.Replace(rest, `"payload"`, `"Payload"`, 1) + `}`, `field "Payload": field names are case-sensitive, use "payload"`},
		{`{"id":"a",` + rest + `,"payload":{}}`, `duplicate field "payload"`},
	}
	for _, c := range cases {
		_, rejected, err := DecodeBody([]byte(c.body), DefaultLimits(), 10, testNow, nil)
		if err != nil || len(rejected) != 1 || !strings.Contains(rejected[0].Reason, c.reason) {
			t.Errorf("%s: rejected %+v, err %v; want %q", c.body, rejected, err, c.reason)
		}
		if _, err := ParseEvent([]byte(c.body), DefaultLimits(), testNow); err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseEvent(%s) = %v; want %q", c.body, err, c.reason)
		}
	}
	// Keys inside the payload are the client's business, kept as sent.
	evs, rejected, err := DecodeBody([]byte(`{"id":"a",`+rest+`}`), DefaultLimits(), 10, testNow, nil)
	if err != nil || len(rejected) != 0 || string(evs[0].Payload) != `{"id":1,"id":2}` {
		t.Fatalf("payload with repeated keys: %+v %+v %v", evs, rejected, err)
	}
}
