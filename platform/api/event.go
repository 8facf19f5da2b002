package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one ingested event, as POSTed and as carried on ingest-events.
type Event struct {
	ID        string          `json:"id"`
	Source    string          `json:"source"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Payload   json.RawMessage `json:"payload"`
}

// Rejection explains why one event of a request was refused.
type Rejection struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// Field length limits; ids and names become Kafka keys and ClickHouse strings.
const (
	MaxIDLen     = 128
	MaxSourceLen = 64
	MaxTypeLen   = 128
)

// wireEvent keeps created_at as a string so its exact error can be reported.
type wireEvent struct {
	ID        *string         `json:"id"`
	Source    *string         `json:"source"`
	Type      *string         `json:"type"`
	CreatedAt *string         `json:"created_at"`
	Payload   json.RawMessage `json:"payload"`
}

// ErrEmptyBody is returned for a request without events.
var ErrEmptyBody = errors.New("body is empty: send one event object or an array of events")

// SplitBody splits a body into raw events: a JSON object is one event, a JSON
// array is a batch. The error describes malformed JSON with its byte offset.
func SplitBody(body []byte, maxBatch int) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, ErrEmptyBody
	}
	if trimmed[0] == '[' {
		// Unmarshal validates the whole body before decoding, so a separate
		// json.Valid pass would scan it twice.
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, malformed(err)
		}
		if len(raws) == 0 {
			return nil, errors.New("batch is empty: the array must hold at least one event")
		}
		if len(raws) > maxBatch {
			return nil, fmt.Errorf("batch has %d events: at most %d events per request", len(raws), maxBatch)
		}
		return raws, nil
	}
	if !json.Valid(trimmed) {
		var v any
		return nil, malformed(json.Unmarshal(trimmed, &v))
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("body must be a JSON object (one event) or array (a batch), got %s", jsonKind(trimmed[0]))
	}
	return []json.RawMessage{trimmed}, nil
}

func malformed(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

func jsonKind(b byte) string {
	switch {
	case b == '"':
		return "a string"
	case b == 't' || b == 'f':
		return "a boolean"
	case b == 'n':
		return "null"
	default:
		return "a number"
	}
}

// ParseEvent decodes and validates one raw event against the limits at time
// now. The error is a reason fit for the client.
func ParseEvent(raw json.RawMessage, lim Limits, now time.Time) (Event, error) {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Event{}, fmt.Errorf("field %q must be a %s, got %s", te.Field, te.Type.String(), te.Value)
		}
		return Event{}, fmt.Errorf("invalid event: %v", err)
	}
	var ev Event
	var err error
	if ev.ID, err = checkName("id", w.ID, MaxIDLen, isIDChar); err != nil {
		return ev, err
	}
	if ev.Source, err = checkName("source", w.Source, MaxSourceLen, isIDChar); err != nil {
		return ev, err
	}
	if ev.Type, err = checkName("type", w.Type, MaxTypeLen, isTypeChar); err != nil {
		return ev, err
	}
	if w.CreatedAt == nil {
		return ev, errors.New(`missing required field "created_at" (RFC 3339 timestamp)`)
	}
	ts, perr := time.Parse(time.RFC3339Nano, *w.CreatedAt)
	if perr != nil {
		return ev, fmt.Errorf("created_at %q is not an RFC 3339 timestamp (like 2025-11-19T10:00:00Z)", *w.CreatedAt)
	}
	if ts.After(now.Add(lim.MaxClockSkew)) {
		return ev, fmt.Errorf("created_at %s is in the future: at most %s ahead of server time %s",
			*w.CreatedAt, lim.MaxClockSkew, now.UTC().Format(time.RFC3339))
	}
	if ts.Before(now.Add(-lim.MaxEventAge)) {
		return ev, fmt.Errorf("created_at %s is too old: at most %s before server time %s",
			*w.CreatedAt, lim.MaxEventAge, now.UTC().Format(time.RFC3339))
	}
	ev.CreatedAt = ts.UTC()
	p := bytes.TrimSpace(w.Payload)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return ev, errors.New(`missing required field "payload" (a JSON object)`)
	}
	if p[0] != '{' {
		return ev, fmt.Errorf("payload must be a JSON object, got %s", jsonKind(p[0]))
	}
	if len(p) > lim.MaxPayloadSize {
		return ev, fmt.Errorf("payload is %d bytes: at most %d bytes", len(p), lim.MaxPayloadSize)
	}
	ev.Payload = p
	return ev, nil
}

func checkName(field string, v *string, maxLen int, ok func(rune) bool) (string, error) {
	if v == nil {
		return "", fmt.Errorf("missing required field %q", field)
	}
	s := *v
	if s == "" {
		return "", fmt.Errorf("field %q is empty", field)
	}
	if len(s) > maxLen {
		return "", fmt.Errorf("field %q is %d bytes: at most %d", field, len(s), maxLen)
	}
	for _, r := range s {
		if !ok(r) {
			return "", fmt.Errorf("field %q=%q has character %q: allowed are letters, digits and %s", field, s, r, allowedPunct(field))
		}
	}
	return s, nil
}

func allowedPunct(field string) string {
	if field == "type" {
		return "._:/-"
	}
	return "._:-"
}

func isIDChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-'
}

func isTypeChar(r rune) bool { return isIDChar(r) || r == '/' }

// Marshal encodes the event for ingest-events; created_at keeps full precision.
func (e Event) Marshal() []byte {
	b, _ := json.Marshal(struct {
		ID        string          `json:"id"`
		Source    string          `json:"source"`
		Type      string          `json:"type"`
		CreatedAt string          `json:"created_at"`
		Payload   json.RawMessage `json:"payload"`
	}{e.ID, e.Source, e.Type, e.CreatedAt.UTC().Format(time.RFC3339Nano), e.Payload})
	return b
}
