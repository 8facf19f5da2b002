package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// DecodeBody decodes and validates a request body at time now: a JSON object
// is one event, a JSON array a batch. One streaming decoder reads the whole
// body, so a batch is scanned once and no event is copied before decoding.
// err rejects the whole body (malformed JSON, wrong shape, too many events);
// otherwise every event is either in events or has a reason in rejected.
// check, when not nil, adds a rule of the caller's to each valid event.
func DecodeBody(body []byte, lim Limits, maxBatch int, now time.Time, check func(Event) error) (events []Event, rejected []Rejection, err error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil, ErrEmptyBody
	}
	switch trimmed[0] {
	case '{', '[':
	default:
		if !json.Valid(trimmed) {
			var v any
			return nil, nil, malformed(json.Unmarshal(trimmed, &v))
		}
		return nil, nil, fmt.Errorf("body must be a JSON object (one event) or array (a batch), got %s", jsonKind(trimmed[0]))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	add := func(i int, w *wireEvent, decodeErr error) {
		ev, err := eventFromWire(w, decodeErr, lim, now)
		if err == nil && check != nil {
			err = check(ev)
		}
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, ID: ev.ID, Reason: err.Error()})
			return
		}
		events = append(events, ev)
	}
	if trimmed[0] == '{' {
		var w wireEvent
		derr := dec.Decode(&w)
		if isSyntaxError(derr) {
			return nil, nil, malformed(derr)
		}
		if err := endOfBody(dec); err != nil {
			return nil, nil, err
		}
		add(0, &w, derr)
		return events, rejected, nil
	}
	if _, err := dec.Token(); err != nil { // the opening bracket
		return nil, nil, malformed(err)
	}
	n := 0
	for ; dec.More(); n++ {
		if n == maxBatch {
			// Count the rest for the message; skipping still checks the syntax.
			for ; dec.More(); n++ {
				if err := dec.Decode(&struct{}{}); isSyntaxError(err) {
					return nil, nil, malformed(err)
				}
			}
			return nil, nil, fmt.Errorf("batch has %d events: at most %d events per request", n, maxBatch)
		}
		var w wireEvent
		derr := dec.Decode(&w)
		if isSyntaxError(derr) {
			return nil, nil, malformed(derr)
		}
		add(n, &w, derr)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, nil, malformed(err)
	}
	if err := endOfBody(dec); err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, errors.New("batch is empty: the array must hold at least one event")
	}
	return events, rejected, nil
}

// isSyntaxError tells a body that cannot be read on (bad syntax, truncated)
// from one event's wrong field types or unknown fields.
func isSyntaxError(err error) bool {
	if err == nil {
		return false
	}
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func endOfBody(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("malformed JSON at byte %d: data after the top-level value", dec.InputOffset())
	}
	return nil
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
	case b == '[':
		return "an array"
	case b == '{':
		return "an object"
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
	return eventFromWire(&w, dec.Decode(&w), lim, now)
}

// eventFromWire validates a decoded event; decodeErr is the decoder's error
// for it, reported first.
func eventFromWire(w *wireEvent, decodeErr error, lim Limits, now time.Time) (Event, error) {
	var ev Event
	if w.ID != nil {
		ev.ID = *w.ID // kept for the rejection, even when invalid
	}
	if decodeErr != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(decodeErr, &te) && te.Field == "":
			return ev, fmt.Errorf("event must be a JSON object, got %s", te.Value)
		case errors.As(decodeErr, &te):
			return ev, fmt.Errorf("field %q must be a %s, got %s", te.Field, te.Type.String(), te.Value)
		}
		return ev, fmt.Errorf("invalid event: %v", decodeErr)
	}
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
	return e.AppendMarshal(make([]byte, 0, 64+len(e.ID)+len(e.Source)+len(e.Type)+len(e.Payload)))
}

// AppendMarshal appends what Marshal returns to dst. Names the API accepted
// need no escaping and are written as they are; anything else goes through
// encoding/json, so the output is the same either way.
func (e Event) AppendMarshal(dst []byte) []byte {
	if !plainJSON(e.ID) || !plainJSON(e.Source) || !plainJSON(e.Type) || bytes.ContainsAny(e.Payload, "<>&\u2028\u2029") {
		b, _ := json.Marshal(struct {
			ID        string          `json:"id"`
			Source    string          `json:"source"`
			Type      string          `json:"type"`
			CreatedAt string          `json:"created_at"`
			Payload   json.RawMessage `json:"payload"`
		}{e.ID, e.Source, e.Type, e.CreatedAt.UTC().Format(time.RFC3339Nano), e.Payload})
		return append(dst, b...)
	}
	orig := dst
	dst = append(dst, `{"id":"`...)
	dst = append(dst, e.ID...)
	dst = append(dst, `","source":"`...)
	dst = append(dst, e.Source...)
	dst = append(dst, `","type":"`...)
	dst = append(dst, e.Type...)
	dst = append(dst, `","created_at":"`...)
	dst = e.CreatedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","payload":`...)
	if len(e.Payload) == 0 {
		dst = append(dst, "null"...)
	} else {
		buf := bytes.NewBuffer(dst)
		if err := json.Compact(buf, e.Payload); err != nil {
			return orig // invalid JSON: encoding/json would write nothing too
		}
		dst = buf.Bytes()
	}
	return append(dst, '}')
}

// plainJSON reports whether s is written the same inside JSON quotes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
