package action

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// phase is one ordered step of a long action (promote). Progress and timings
// are computed by runPhases, so every phase reports the same way.
type phase struct {
	name   string
	detail string
	// skip: does not apply to this run; counted as done, not run.
	skip bool
	// quiet: the phase reports its own detail (or nothing, when it skips).
	quiet bool
	// uncounted: verification and bookkeeping, not a step of the progress bar.
	uncounted bool
	run       func(ctx context.Context, detail func(string)) error
}

// errSkipped: a phase found at run time that it does not apply.
var errSkipped = errors.New("phase skipped")

// PhaseTiming is how long one phase of an action took.
type PhaseTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Skipped bool    `json:"skipped,omitempty"`
}

// runPhases runs phases in order and stops at the first error. Each counted
// phase advances Done by one, run or skipped; each is timed into res.Phases.
func runPhases(ctx context.Context, phases []phase, res *Result, progress func(Progress)) error {
	total, done := 0, 0
	for _, p := range phases {
		if !p.uncounted {
			total++
		}
	}
	for _, p := range phases {
		// A Ctrl-C between phases stops before the next one begins.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted before %s: %w", p.name, err)
		}
		emit := func(d string) { progress(Progress{Step: p.name, Detail: d, Done: done, Total: total}) }
		start := time.Now()
		skipped := p.skip
		if !p.skip {
			if !p.quiet && !p.uncounted {
				emit(p.detail)
			}
			err := p.run(ctx, emit)
			if err != nil && !errors.Is(err, errSkipped) && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				// Interrupted inside the phase: say so, whatever the phase made of it.
				err = fmt.Errorf("interrupted during %s (%w): %v", p.name, ctx.Err(), err)
			}
			switch {
			case errors.Is(err, errSkipped):
				skipped = true
			case err != nil:
				res.Phases = append(res.Phases, PhaseTiming{Name: p.name, Seconds: time.Since(start).Seconds()})
				return err
			}
		}
		res.Phases = append(res.Phases, PhaseTiming{Name: p.name, Seconds: time.Since(start).Seconds(), Skipped: skipped})
		if !p.uncounted {
			done++
		}
	}
	progress(Progress{Step: "done", Done: total, Total: total})
	return nil
}
