package lagstate

import "testing"

func run(t *Tracker, obs ...Observation) []State {
	out := make([]State, len(obs))
	for i, o := range obs {
		out[i] = t.Observe(o)
	}
	return out
}

// The case: a stable batching consumer at 1,000/s holding about a
// second of lag, its window rates a little above and below produce as
// batches commit, is steady, never falling behind or catching up.
func TestBatchingConsumerReadsSteady(t *testing.T) {
	tr := NewTracker(Rule{})
	lags := []float64{1100, 2400, 900, 2600, 1200, 3900, 800, 2500, 1300, 4800}
	consumes := []float64{1200, 700, 1400, 600, 1300, 500, 1500, 700, 1300, 600}
	for i := range lags {
		got := tr.Observe(Observation{Lag: lags[i], Produce: 1000, Consume: consumes[i]})
		if got != Steady {
			t.Fatalf("poll %d (lag %v consume %v) = %q, want steady", i, lags[i], consumes[i], got)
		}
		if got.Problem() {
			t.Fatalf("steady reads as a problem")
		}
	}
}

func TestTransitionsNeedConfirmation(t *testing.T) {
	tr := NewTracker(Rule{Confirm: 3})
	behind := Observation{Lag: 50000, Produce: 1000, Consume: 600}
	got := run(tr,
		Observation{Lag: 0, Produce: 1000, Consume: 1000}, // caught up at once
		behind, behind, // two polls: not yet
		behind, // third: reported
	)
	want := []State{CaughtUp, CaughtUp, CaughtUp, FallingBehind}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("poll %d = %q, want %q (all %v)", i, got[i], want[i], got)
		}
	}
	// Consumer scaled up: lag shrinking, catching up after three polls.
	up := Observation{Lag: 40000, Produce: 1000, Consume: 3000}
	got = run(tr, up, up, up)
	if got[1] != FallingBehind || got[2] != CatchingUp {
		t.Fatalf("scale-up polls = %v, want falling behind until the third, then catching up", got)
	}
	if eta := tr.rule.ETA(up); eta != 20 { // 40000 / (3000-1000)
		t.Fatalf("ETA = %v, want 20", eta)
	}
	// Lag reaches zero: caught up at once, without confirmation.
	if s := tr.Observe(Observation{Lag: 0, Produce: 1000, Consume: 1000}); s != CaughtUp {
		t.Fatalf("zero lag = %q, want caught up at once", s)
	}
}

// Input that flips every poll between falling behind and catching up (or
// between in and out of the band) never changes the reported state.
func TestFlappingInputKeepsTheState(t *testing.T) {
	tr := NewTracker(Rule{})
	steady := Observation{Lag: 2000, Produce: 1000, Consume: 1000}
	tr.Observe(steady)
	behind := Observation{Lag: 9000, Produce: 1000, Consume: 500}
	ahead := Observation{Lag: 9000, Produce: 1000, Consume: 1500}
	for i := 0; i < 40; i++ {
		o := behind
		if i%2 == 1 {
			o = ahead
		}
		if i%3 == 0 {
			o = steady
		}
		if s := tr.Observe(o); s != Steady {
			t.Fatalf("flapping poll %d (%+v) = %q, want steady kept", i, o, s)
		}
	}
}

// Once falling behind, a consume rate just above produce (inside the
// margin) does not read as catching up, and one just below keeps it.
func TestHysteresisMarginsOnRates(t *testing.T) {
	r := Rule{}
	o := Observation{Lag: 20000, Produce: 1000, Consume: 990}
	if s := r.Classify(o, Steady); s != Steady {
		t.Fatalf("1%% short from steady = %q, want steady (inside the margin)", s)
	}
	if s := r.Classify(o, FallingBehind); s != FallingBehind {
		t.Fatalf("1%% short while falling behind = %q, want falling behind kept", s)
	}
	o.Consume = 1010
	if s := r.Classify(o, FallingBehind); s != Steady {
		t.Fatalf("1%% ahead while falling behind = %q, want steady", s)
	}
	if s := r.Classify(o, CatchingUp); s != CatchingUp {
		t.Fatalf("1%% ahead while catching up = %q, want catching up kept", s)
	}
}

func TestBandAndCaughtUp(t *testing.T) {
	r := Rule{}
	if b := r.Band(100); b != 1000 {
		t.Fatalf("band at 100/s = %v, want the batch (1000)", b)
	}
	if b := r.Band(10000); b != 50000 {
		t.Fatalf("band at 10000/s = %v, want 5 s of production", b)
	}
	if s := r.Classify(Observation{Lag: 400, Produce: 1000, Consume: 1000}, ""); s != CaughtUp {
		t.Fatalf("lag under one batch and one second = %q, want caught up", s)
	}
	// An idle topic with records left: not caught up, and no rate to move it.
	if s := r.Classify(Observation{Lag: 400}, ""); s != Steady {
		t.Fatalf("idle with lag 400 = %q, want steady", s)
	}
	if eta := r.ETA(Observation{Lag: 5, Produce: 10, Consume: 10}); eta != -1 {
		t.Fatalf("ETA without net consumption = %v, want -1", eta)
	}
}
