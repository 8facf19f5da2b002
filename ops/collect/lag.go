package collect

import (
	"sort"
	"time"

	"github.com/wotr/wotr-tui/ops/lagstate"
	"github.com/wotr/wotr-tui/ops/state"
)

// OffsetSample is one observation of a partition for a group: the committed
// offset (-1 when nothing is committed) and the log end offset.
type OffsetSample struct {
	At        time.Time `json:"at"`
	Committed int64     `json:"committed"`
	End       int64     `json:"end"`
}

// Lag of the sample; -1 when nothing is committed.
func (s OffsetSample) Lag() int64 {
	if s.Committed < 0 {
		return -1
	}
	if l := s.End - s.Committed; l > 0 {
		return l
	}
	return 0
}

// EvaluatePartition applies Burrow's consumer lag rules to a window of samples
// (oldest first) observed at now. owned says whether a live group member is
// assigned the partition.
//
// Burrow sees every offset commit with its timestamp; a poller sees only the
// committed offset at each poll, so a consumer re-committing the same offset
// (Burrow's STALL) cannot be told from one that stopped committing (STOP).
// Group membership separates them: an unchanged offset owned by a live member
// is STALL, unowned is STOP. The rules, in order:
//  1. any sample with zero lag (or no committed offset at all): OK;
//  2. fewer than two samples: OK (not enough evidence);
//  3. a committed offset lower than the one before it: REWIND;
//  4. committed offset unchanged over the window, or unchanged since a time
//     longer ago than it had been moving (Burrow's STOP rule): STALL if owned,
//     else STOP;
//  5. offsets moving but lag never decreasing over at least minTrendSamples
//     samples: WARN (falling behind). Burrow judges this over 10 commits; a
//     consumer that commits once per batch has lag between polls that
//     rises and falls with the batch, so two or three polls cannot tell a
//     batch in progress from falling behind;
//  6. otherwise OK.
func EvaluatePartition(w []OffsetSample, now time.Time, owned bool) state.Status {
	var s []OffsetSample
	for _, x := range w {
		if x.Committed >= 0 {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return state.StatusOK
	}
	for _, x := range s {
		if x.Lag() == 0 {
			return state.StatusOK
		}
	}
	if len(s) < 2 {
		return state.StatusOK
	}
	for i := 1; i < len(s); i++ {
		if s[i].Committed < s[i-1].Committed {
			return state.StatusRewind
		}
	}
	n := len(s)
	lastChange := n - 1
	for lastChange > 0 && s[lastChange-1].Committed == s[n-1].Committed {
		lastChange--
	}
	stopped := lastChange == 0 ||
		now.Sub(s[lastChange].At) > s[lastChange].At.Sub(s[0].At)
	if stopped {
		if owned {
			return state.StatusStall
		}
		return state.StatusStop
	}
	if n < minTrendSamples {
		return state.StatusOK
	}
	for i := 1; i < n; i++ {
		if s[i].Lag() < s[i-1].Lag() {
			return state.StatusOK
		}
	}
	return state.StatusWarn
}

// minTrendSamples is the shortest window rule 5 judges a trend on.
const minTrendSamples = 5

// GroupStatus folds partition statuses the way Burrow does: ERR when any
// partition is STOP, STALL, REWIND or ERR; WARN when any is WARN; else OK.
func GroupStatus(parts []state.PartitionLag) state.Status {
	st := state.StatusOK
	for _, p := range parts {
		switch p.Status {
		case state.StatusStop, state.StatusStall, state.StatusRewind, state.StatusErr:
			return state.StatusErr
		case state.StatusWarn:
			st = state.StatusWarn
		}
	}
	return st
}

type topicPartition struct {
	topic     string
	partition int32
}

type groupPartition struct {
	group string
	topicPartition
}

// lagEvaluator keeps a sliding window per partition and group and derives
// rates, lag seconds, catch-up ETA, Burrow statuses and the lag state from
// successive reads.
type lagEvaluator struct {
	window int
	groups map[groupPartition]*ring[OffsetSample]
	ends   map[topicPartition]*ring[OffsetSample]
	rule   lagstate.Rule
	states map[string]*lagstate.Tracker
}

func newLagEvaluator(window int) *lagEvaluator {
	if window < 2 {
		window = 10
	}
	return &lagEvaluator{
		window: window,
		groups: map[groupPartition]*ring[OffsetSample]{},
		ends:   map[topicPartition]*ring[OffsetSample]{},
		states: map[string]*lagstate.Tracker{},
	}
}

// rate per second between the first and last samples of w using val.
func rate(w []OffsetSample, val func(OffsetSample) int64) float64 {
	if len(w) < 2 {
		return 0
	}
	a, b := w[0], w[len(w)-1]
	dt := b.At.Sub(a.At).Seconds()
	if dt <= 0 || val(a) < 0 {
		return 0
	}
	d := float64(val(b) - val(a))
	if d < 0 {
		return 0
	}
	return d / dt
}

func endOf(s OffsetSample) int64 { return s.End }

func committedOf(s OffsetSample) int64 { return s.Committed }

// apply records k's offsets taken at now and fills in the derived fields.
func (e *lagEvaluator) apply(k *state.KafkaState, now time.Time) {
	var buf []OffsetSample
	partRate := map[topicPartition]float64{}
	liveTP := map[topicPartition]bool{}
	// Produce rates from end offsets, per partition and per topic.
	topicIdx := map[string]int{}
	for i := range k.Topics {
		topicIdx[k.Topics[i].Name] = i
		k.Topics[i].ProduceRate = 0
	}
	for _, g := range k.Groups {
		for _, p := range g.Partitions {
			tp := topicPartition{p.Topic, p.Partition}
			if liveTP[tp] {
				continue
			}
			liveTP[tp] = true
			r := e.ends[tp]
			if r == nil {
				r = newRing[OffsetSample](e.window)
				e.ends[tp] = r
			}
			r.push(OffsetSample{At: now, Committed: 0, End: p.End})
			buf = r.appendTo(buf[:0])
			pr := rate(buf, endOf)
			partRate[tp] = pr
			if i, ok := topicIdx[p.Topic]; ok {
				k.Topics[i].ProduceRate += pr
			}
		}
	}
	for tp := range e.ends {
		if !liveTP[tp] {
			delete(e.ends, tp)
		}
	}
	seen := map[groupPartition]bool{}
	for gi := range k.Groups {
		g := &k.Groups[gi]
		owned := map[topicPartition]string{}
		for _, m := range g.Members {
			for _, a := range m.Assigned {
				if tp, ok := parseTopicPartition(a); ok {
					owned[tp] = m.ID
				}
			}
		}
		var total int64
		var consume, produce, maxLagSec float64
		unknownLagSec := false
		for pi := range g.Partitions {
			p := &g.Partitions[pi]
			tp := topicPartition{p.Topic, p.Partition}
			gp := groupPartition{g.Name, tp}
			seen[gp] = true
			if p.Member == "" {
				p.Member = owned[tp]
			}
			s := OffsetSample{At: now, Committed: p.Committed, End: p.End}
			p.Lag = s.Lag()
			if p.Lag < 0 {
				p.Lag = 0
			}
			total += p.Lag
			r := e.groups[gp]
			if r == nil {
				r = newRing[OffsetSample](e.window)
				e.groups[gp] = r
			}
			if p.Status != state.StatusErr {
				r.push(s)
				buf = r.appendTo(buf[:0])
				p.Status = EvaluatePartition(buf, now, p.Member != "")
				consume += rate(buf, committedOf)
			}
			produce += partRate[tp]
			switch pr := partRate[tp]; {
			case p.Lag == 0:
				p.LagSeconds = 0
			case pr > 0:
				p.LagSeconds = float64(p.Lag) / pr
			default:
				p.LagSeconds = -1
				unknownLagSec = true
			}
			if p.LagSeconds > maxLagSec {
				maxLagSec = p.LagSeconds
			}
		}
		sort.Slice(g.Partitions, func(i, j int) bool {
			a, b := g.Partitions[i], g.Partitions[j]
			if a.Topic != b.Topic {
				return a.Topic < b.Topic
			}
			return a.Partition < b.Partition
		})
		g.TotalLag = total
		g.LagSeconds = maxLagSec
		if unknownLagSec && maxLagSec == 0 {
			g.LagSeconds = -1
		}
		tr := e.states[g.Name]
		if tr == nil {
			tr = lagstate.NewTracker(e.rule)
			e.states[g.Name] = tr
		}
		obs := lagstate.Observation{Lag: float64(total), Produce: produce, Consume: consume}
		g.LagState = string(tr.Observe(obs))
		g.ProduceRate, g.ConsumeRate = produce, consume
		g.ETASeconds = e.rule.ETA(obs)
		if g.Status != state.StatusErr {
			g.Status = GroupStatus(g.Partitions)
		}
	}
	for gp := range e.groups {
		if !seen[gp] {
			delete(e.groups, gp)
			delete(e.states, gp.group)
		}
	}
}

func parseTopicPartition(s string) (topicPartition, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			var n int64
			for _, c := range s[i+1:] {
				if c < '0' || c > '9' {
					return topicPartition{}, false
				}
				n = n*10 + int64(c-'0')
			}
			return topicPartition{s[:i], int32(n)}, i+1 < len(s)
		}
	}
	return topicPartition{}, false
}
