package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 11, 19, 12, 0, 0, 0, time.UTC)

func TestSplitBody(t *testing.T) {
	cases := []struct {
		name, body string
		n          int
		errHas     string
	}{
		{"single", `{"id":"a"}`, 1, ""},
		{"batch", ` [{"id":"a"},{"id":"b"}] `, 2, ""},
		{"empty", "  ", 0, "body is empty"},
		{"empty array", "[]", 0, "batch is empty"},
		{"malformed", `{"id": "a",}`, 0, "malformed JSON at byte"},
		{"truncated", `[{"id":"a"}`, 0, "malformed JSON"},
		{"scalar", `"hello"`, 0, "got a string"},
		{"too many", "[" + strings.TrimSuffix(strings.Repeat(`{},`, 4), ",") + "]", 0, "at most 3 events"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raws, err := SplitBody([]byte(c.body), 3)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want it to contain %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(raws) != c.n {
				t.Fatalf("got %d events, want %d", len(raws), c.n)
			}
		})
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
		{"payload not object", with("payload", []int{1}), "payload must be a JSON object, got a number"},
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
