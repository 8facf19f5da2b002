package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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

// wireEvent is an event as sent; created_at stays a string so its exact
// error can be reported, and payload stays the bytes the client sent.
type wireEvent struct {
	ID, Source, Type, CreatedAt *string
	Payload                     json.RawMessage
	// vals backs the four pointers: one allocation instead of four.
	vals [4]string
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
	// RawMessage copies each event out of body: the caller may reuse body.
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	add := func(i int, raw json.RawMessage) {
		w, perr := parseWire(raw)
		ev, err := eventFromWire(&w, perr, lim, now)
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
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, malformed(err)
		}
		if err := endOfBody(dec); err != nil {
			return nil, nil, err
		}
		add(0, raw)
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
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, malformed(err)
		}
		add(n, raw)
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
// now, by the same rules as DecodeBody. The error is a reason fit for the client.
func ParseEvent(raw json.RawMessage, lim Limits, now time.Time) (Event, error) {
	if !json.Valid(raw) {
		var v any
		return Event{}, fmt.Errorf("invalid event: %v", json.Unmarshal(raw, &v))
	}
	w, err := parseWire(raw)
	return eventFromWire(&w, err, lim, now)
}

// eventFields are the only field names, matched exactly: encoding/json
// would match "ID" to "id" and let the last of two "id"s win, so two
// readers of the same bytes could see different events.
var eventFields = [...]string{"id", "source", "type", "created_at", "payload"}

// parseWire reads the fields of one event from raw, which must be valid
// JSON. Unknown, case-variant and repeated field names are refused.
func parseWire(raw []byte) (wireEvent, error) {
	var w wireEvent
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		kind := "nothing"
		if i < len(raw) {
			kind = jsonKind(raw[i])
		}
		return w, fmt.Errorf("event must be a JSON object, got %s", kind)
	}
	var seen [len(eventFields)]bool
	var rawText string // raw as a string, made once: unescaped values are slices of it
	for i = skipSpace(raw, i+1); i < len(raw) && raw[i] != '}'; {
		kEnd := stringEnd(raw, i)
		f, name, err := fieldName(raw[i:kEnd])
		if err != nil {
			return w, fmt.Errorf("invalid event: field name: %v", err)
		}
		i = skipSpace(raw, kEnd)
		if i < len(raw) && raw[i] == ':' {
			i = skipSpace(raw, i+1)
		}
		vStart, vEnd := i, valueEnd(raw, i)
		val := raw[vStart:vEnd]
		switch {
		case f < 0:
			for _, known := range eventFields {
				if strings.EqualFold(name, known) {
					return w, fmt.Errorf("field %q: field names are case-sensitive, use %q", name, known)
				}
			}
			return w, fmt.Errorf("unknown field %q: an event has only the fields id, source, type, created_at and payload", name)
		case seen[f]:
			return w, fmt.Errorf("duplicate field %q: each field may appear only once", eventFields[f])
		}
		seen[f] = true
		if f == payloadField {
			w.Payload = val
		} else if !bytes.Equal(val, []byte("null")) {
			if len(val) == 0 || val[0] != '"' {
				return w, fmt.Errorf("field %q must be a string, got %s", eventFields[f], jsonKind(val[0]))
			}
			if bytes.IndexByte(val, '\\') < 0 {
				if rawText == "" {
					rawText = string(raw)
				}
				w.vals[f] = rawText[vStart+1 : vEnd-1]
			} else if w.vals[f], err = unquote(val); err != nil {
				return w, fmt.Errorf("field %q: %v", eventFields[f], err)
			}
			switch f {
			case 0:
				w.ID = &w.vals[0]
			case 1:
				w.Source = &w.vals[1]
			case 2:
				w.Type = &w.vals[2]
			default:
				w.CreatedAt = &w.vals[3]
			}
		}
		i = skipSpace(raw, vEnd)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return w, nil
}

const payloadField = 4 // eventFields[4]

// fieldName matches a quoted field name without making a string of it,
// unless it has escapes or is unknown (the name is then needed).
func fieldName(q []byte) (int, string, error) {
	if len(q) >= 2 && bytes.IndexByte(q, '\\') < 0 {
		for i, f := range eventFields {
			if string(q[1:len(q)-1]) == f {
				return i, f, nil
			}
		}
	}
	name, err := unquote(q)
	return fieldIndex(name), name, err
}

func fieldIndex(name string) int {
	for i, f := range eventFields {
		if name == f {
			return i
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the valid JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

// unquote decodes a JSON string; most need no unescaping.
func unquote(q []byte) (string, error) {
	if len(q) >= 2 && bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

// eventFromWire validates a decoded event; parseErr is parseWire's error
// for it, reported first.
func eventFromWire(w *wireEvent, parseErr error, lim Limits, now time.Time) (Event, error) {
	var ev Event
	if w.ID != nil {
		ev.ID = *w.ID // kept for the rejection, even when invalid
	}
	if parseErr != nil {
		return ev, parseErr
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

// Marshal encodes the event for ingest-events; created_at keeps full
// precision and the payload is written byte for byte as the client sent it.
func (e Event) Marshal() []byte {
	return e.AppendMarshal(make([]byte, 0, 64+len(e.ID)+len(e.Source)+len(e.Type)+len(e.Payload)))
}

// AppendMarshal appends what Marshal returns to dst. Payload must be valid
// JSON, as DecodeBody and ParseEvent return it; it is not re-encoded, so
// "&", "<" and ">" stay as sent (encoding/json would write \u0026...).
func (e Event) AppendMarshal(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"created_at":"`...)
	dst = e.CreatedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","payload":`...)
	if len(e.Payload) == 0 {
		return append(dst, "null}"...)
	}
	dst = append(dst, e.Payload...)
	return append(dst, '}')
}

// appendString writes s as a JSON string. Names the API accepts need no
// escaping; anything else goes through encoding/json, without HTML escaping.
func appendString(dst []byte, s string) []byte {
	if plainJSON(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// plainJSON reports whether s is written the same inside JSON quotes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
