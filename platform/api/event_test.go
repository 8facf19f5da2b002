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
		{"batch element not an object", `[` + ev("a") + `,7]`, []string{"a"}, []string{"1:event must be a JSON object, got number"}, ""},
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

// The fast path writes exactly what encoding/json writes, and falls back to
// it for anything that needs escaping.
func TestEventMarshalMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))
	cases := []Event{
		{ID: "evt-1", Source: "shop", Type: "order.created", CreatedAt: at, Payload: json.RawMessage(`{"n":1}`)},
		{ID: "evt-2", Source: "shop", Type: "user/signup", CreatedAt: at, Payload: json.RawMessage("{ \"a\" : [1, 2],\n \"b\": {} }")},
		{ID: "q\"uote", Source: "s\\", Type: "é", CreatedAt: at, Payload: json.RawMessage(`{"x":"<y>&"}`)},
		{ID: "a", Source: "s", Type: "t", CreatedAt: at},
		{ID: "a", Source: "s", Type: "t", CreatedAt: at, Payload: json.RawMessage(`{"broken":`)},
	}
	for _, ev := range cases {
		want, _ := json.Marshal(struct {
			ID        string          `json:"id"`
			Source    string          `json:"source"`
			Type      string          `json:"type"`
			CreatedAt string          `json:"created_at"`
			Payload   json.RawMessage `json:"payload"`
		}{ev.ID, ev.Source, ev.Type, ev.CreatedAt.UTC().Format(time.RFC3339Nano), ev.Payload})
		if got := ev.Marshal(); string(got) != string(want) {
			t.Errorf("Marshal(%+v)\n got %s\nwant %s", ev, got, want)
		}
		if got := ev.AppendMarshal([]byte("prefix")); string(got) != "prefix"+string(want) {
			t.Errorf("AppendMarshal kept %q", got)
		}
	}
}
