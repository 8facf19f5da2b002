package lagstate

import "math"

// State of a group's lag.
type State string

const (
	CaughtUp      State = "caught up"
	Steady        State = "steady"
	FallingBehind State = "falling behind"
	CatchingUp    State = "catching up"
)

// Problem says whether the state asks for attention.
func (s State) Problem() bool { return s == FallingBehind }

// Rule sizes the band and the hysteresis. Zero fields take the defaults.
type Rule struct {
	// BatchRecords is the lag a healthy consumer may hold for one batch
	// (the consumer's BATCH_MIN_SIZE); default 1000.
	BatchRecords float64
	// SteadySeconds of production a healthy consumer may hold (batch wait,
	// insert and commit); default 5.
	SteadySeconds float64
	// RateMargin is the share of the produce rate by which consume must
	// differ from produce before lag counts as moving; default 0.05.
	RateMargin float64
	// Confirm is how many polls in a row a new state must be seen before
	// it is reported; default 3.
	Confirm int
}

func (r Rule) withDefaults() Rule {
	if r.BatchRecords <= 0 {
		r.BatchRecords = 1000
	}
	if r.SteadySeconds <= 0 {
		r.SteadySeconds = 5
	}
	if r.RateMargin <= 0 {
		r.RateMargin = 0.05
	}
	if r.Confirm <= 0 {
		r.Confirm = 3
	}
	return r
}

// Observation is one poll of a group: its total lag in records and the
// produce and consume rates (records/s) over the evaluation window.
type Observation struct {
	Lag     float64
	Produce float64
	Consume float64
}

// Band is the lag a healthy consumer holds at this produce rate.
func (r Rule) Band(produce float64) float64 {
	r = r.withDefaults()
	return math.Max(r.BatchRecords, produce*r.SteadySeconds)
}

// Classify is the state one observation suggests, given the state reported
// now: leaving falling behind or catching up needs the rates to cross back
// past even, entering needs them past the margin.
func (r Rule) Classify(o Observation, current State) State {
	r = r.withDefaults()
	if o.Lag <= 0 {
		return CaughtUp
	}
	if o.Lag <= r.BatchRecords && o.Lag <= o.Produce {
		// Within one batch and under a second of production.
		return CaughtUp
	}
	band := r.Band(o.Produce)
	net := o.Consume - o.Produce
	margin := r.RateMargin * math.Max(o.Produce, 1)
	switch {
	case current == FallingBehind && net < 0 && o.Lag > band:
		return FallingBehind
	case current == CatchingUp && net > 0 && o.Lag > band:
		return CatchingUp
	}
	if o.Lag <= band {
		return Steady
	}
	switch {
	case net > margin:
		return CatchingUp
	case net < -margin:
		return FallingBehind
	}
	return Steady
}

// ETA in seconds for lag to reach the band at the observed rates; -1 when
// lag is not shrinking.
func (r Rule) ETA(o Observation) float64 {
	net := o.Consume - o.Produce
	if o.Lag <= 0 {
		return 0
	}
	if net <= 0 {
		return -1
	}
	return o.Lag / net
}

// Tracker holds one group's reported state across polls.
type Tracker struct {
	rule      Rule
	state     State
	candidate State
	seen      int
}

// NewTracker starts with no state; the first observation sets it at once.
func NewTracker(r Rule) *Tracker { return &Tracker{rule: r.withDefaults()} }

// State reported now ("" before the first observation).
func (t *Tracker) State() State { return t.state }

// Observe one poll and return the state to report: a different state
// replaces the current one after Confirm polls in a row; caught up (no lag
// at all) is taken at once, since it cannot be a batch in flight.
func (t *Tracker) Observe(o Observation) State {
	c := t.rule.Classify(o, t.state)
	switch {
	case t.state == "" || (c == CaughtUp && o.Lag <= 0):
		t.state, t.candidate, t.seen = c, "", 0
	case c == t.state:
		t.candidate, t.seen = "", 0
	case c == t.candidate:
		t.seen++
	default:
		t.candidate, t.seen = c, 1
	}
	if t.seen >= t.rule.Confirm {
		t.state, t.candidate, t.seen = t.candidate, "", 0
	}
	return t.state
}
