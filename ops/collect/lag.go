package collect

import (
	"slices"
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

type topicPartition struct {
	topic     string
	partition int32
}

// sample is an OffsetSample as the windows keep it: Unix nanoseconds instead
// of a time.Time, so the windows hold no pointers for the GC to scan.
type sample struct{ at, committed, end int64 }

func (s sample) lag() int64 { return OffsetSample{Committed: s.committed, End: s.end}.Lag() }

// EvaluatePartition applies Burrow's consumer lag rules to a window of samples
// (oldest first) observed at now. owned says whether a live group member is
// assigned the partition. The rules are those of evaluate.
func EvaluatePartition(w []OffsetSample, now time.Time, owned bool) state.Status {
	s := make([]sample, len(w))
	for i, x := range w {
		s[i] = sample{x.At.UnixNano(), x.Committed, x.End}
	}
	return evaluate(s, now.UnixNano(), owned)
}

// evaluate judges window w (oldest first, Unix nanoseconds; filtered in
// place) at now.
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
func evaluate(w []sample, now int64, owned bool) state.Status {
	s := w[:0]
	for _, x := range w {
		if x.committed >= 0 {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return state.StatusOK
	}
	for _, x := range s {
		if x.lag() == 0 {
			return state.StatusOK
		}
	}
	if len(s) < 2 {
		return state.StatusOK
	}
	for i := 1; i < len(s); i++ {
		if s[i].committed < s[i-1].committed {
			return state.StatusRewind
		}
	}
	n := len(s)
	lastChange := n - 1
	for lastChange > 0 && s[lastChange-1].committed == s[n-1].committed {
		lastChange--
	}
	stopped := lastChange == 0 || now-s[lastChange].at > s[lastChange].at-s[0].at
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
		if s[i].lag() < s[i-1].lag() {
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

// maxPartitionIndex bounds the dense per-partition arrays: Kafka numbers a
// topic's partitions 0..n-1, so a number beyond this is not a real partition
// and gets no window (judged on its current sample alone).
const maxPartitionIndex = 1 << 20

// windows keeps the newest w samples of each partition of one topic in one
// block indexed by partition number: no map lookup and no allocation per
// partition and read.
type windows struct {
	w     int
	buf   []sample // partition p's ring is buf[p*w : (p+1)*w]
	next  []int32
	count []int32
	round []uint64 // the last read that saw the partition
	rate  []float64
	owner []string
}

func (x *windows) grow(p int) {
	if p < len(x.next) {
		return
	}
	n := p + 1
	x.buf = extend(x.buf, n*x.w)
	x.next = extend(x.next, n)
	x.count = extend(x.count, n)
	x.round = extend(x.round, n)
	x.rate = extend(x.rate, n)
	x.owner = extend(x.owner, n)
}

// extend s to length n with zero values, growing its capacity geometrically
// (partitions arrive one by one on the first read).
func extend[T any](s []T, n int) []T {
	old := len(s)
	s = slices.Grow(s, n-old)[:n]
	clear(s[old:])
	return s
}

func (x *windows) push(p int, s sample) {
	r := x.buf[p*x.w : (p+1)*x.w]
	r[x.next[p]] = s
	x.next[p] = (x.next[p] + 1) % int32(x.w)
	if x.count[p] < int32(x.w) {
		x.count[p]++
	}
}

// appendTo appends partition p's samples, oldest first.
func (x *windows) appendTo(p int, dst []sample) []sample {
	r := x.buf[p*x.w : (p+1)*x.w]
	if x.count[p] == int32(x.w) {
		dst = append(dst, r[x.next[p]:]...)
	}
	return append(dst, r[:x.next[p]]...)
}

// sweep forgets the partitions the read of round did not see, and says
// whether any was seen.
func (x *windows) sweep(round uint64) bool {
	seen := false
	for p, r := range x.round {
		if r == round {
			seen = true
			continue
		}
		x.next[p], x.count[p] = 0, 0
	}
	return seen
}

// groupLag is what the evaluator keeps of one group between reads.
type groupLag struct {
	topics  map[string]*windows
	tracker *lagstate.Tracker
	round   uint64
}

// lagEvaluator keeps a sliding window per partition and group and derives
// rates, lag seconds, catch-up ETA, Burrow statuses and the lag state from
// successive reads.
type lagEvaluator struct {
	window int
	round  uint64
	groups map[string]*groupLag
	ends   map[string]*windows // per topic: end offsets and produce rates
	rule   lagstate.Rule
}

func newLagEvaluator(window int) *lagEvaluator {
	if window < 2 {
		window = 10
	}
	return &lagEvaluator{
		window: window,
		groups: map[string]*groupLag{},
		ends:   map[string]*windows{},
	}
}

// rate per second between the first and last samples of w using val.
func rate(w []sample, val func(sample) int64) float64 {
	if len(w) < 2 {
		return 0
	}
	a, b := w[0], w[len(w)-1]
	dt := float64(b.at-a.at) / 1e9
	if dt <= 0 || val(a) < 0 {
		return 0
	}
	d := float64(val(b) - val(a))
	if d < 0 {
		return 0
	}
	return d / dt
}

func endOf(s sample) int64 { return s.end }

func committedOf(s sample) int64 { return s.committed }

// topicCache remembers the last topic looked up: a group's partitions and a
// member's assignments come topic by topic, so most lookups are a string
// compare instead of a hash.
type topicCache struct {
	name string
	w    *windows
}

func (c *topicCache) get(m map[string]*windows, topic string, window int, create bool, size func(string) int) *windows {
	if c.w != nil && c.name == topic {
		return c.w
	}
	w := m[topic]
	if w == nil && create {
		w = &windows{w: window}
		if n := size(topic); n > 0 && n <= maxPartitionIndex {
			w.grow(n - 1) // the topic's partition count: one allocation
		}
		m[topic] = w
	}
	c.name, c.w = topic, w
	return w
}

// apply records k's offsets taken at now and fills in the derived fields.
func (e *lagEvaluator) apply(k *state.KafkaState, now time.Time) {
	e.round++
	round, at := e.round, now.UnixNano()
	var buf []sample
	// Produce rates from end offsets, per partition and per topic.
	topicIdx := make(map[string]int, len(k.Topics))
	for i := range k.Topics {
		topicIdx[k.Topics[i].Name] = i
		k.Topics[i].ProduceRate = 0
	}
	size := func(topic string) int {
		if i, ok := topicIdx[topic]; ok {
			return int(k.Topics[i].Partitions)
		}
		return 0
	}
	var tc topicCache
	for _, g := range k.Groups {
		for _, p := range g.Partitions {
			if p.Partition < 0 || p.Partition >= maxPartitionIndex {
				continue
			}
			w := tc.get(e.ends, p.Topic, e.window, true, size)
			pi := int(p.Partition)
			w.grow(pi)
			if w.round[pi] == round {
				continue
			}
			w.round[pi] = round
			w.push(pi, sample{at: at, end: p.End})
			buf = w.appendTo(pi, buf[:0])
			pr := rate(buf, endOf)
			w.rate[pi] = pr
			if i, ok := topicIdx[p.Topic]; ok {
				k.Topics[i].ProduceRate += pr
			}
		}
	}
	for t, w := range e.ends {
		if !w.sweep(round) {
			delete(e.ends, t)
		}
	}
	for gi := range k.Groups {
		g := &k.Groups[gi]
		gl := e.groups[g.Name]
		if gl == nil {
			gl = &groupLag{topics: map[string]*windows{}, tracker: lagstate.NewTracker(e.rule)}
			e.groups[g.Name] = gl
		}
		gl.round = round
		for _, w := range gl.topics {
			clear(w.owner)
		}
		var oc topicCache
		for _, m := range g.Members {
			for _, a := range m.Assigned {
				tp, ok := parseTopicPartition(a)
				if !ok || tp.partition < 0 || tp.partition >= maxPartitionIndex {
					continue
				}
				w := oc.get(gl.topics, tp.topic, e.window, true, size)
				w.grow(int(tp.partition))
				w.owner[tp.partition] = m.ID
			}
		}
		var total int64
		var consume, produce, maxLagSec float64
		unknownLagSec := false
		var gc, ec topicCache
		for pi := range g.Partitions {
			p := &g.Partitions[pi]
			s := sample{at: at, committed: p.Committed, end: p.End}
			p.Lag = s.lag()
			if p.Lag < 0 {
				p.Lag = 0
			}
			total += p.Lag
			var pr float64
			if p.Partition < 0 || p.Partition >= maxPartitionIndex {
				if p.Status != state.StatusErr {
					p.Status = evaluate([]sample{s}, at, p.Member != "")
				}
			} else {
				idx := int(p.Partition)
				w := gc.get(gl.topics, p.Topic, e.window, true, size)
				w.grow(idx)
				w.round[idx] = round
				if p.Member == "" {
					p.Member = w.owner[idx]
				}
				if p.Status != state.StatusErr {
					w.push(idx, s)
					buf = w.appendTo(idx, buf[:0])
					consume += rate(buf, committedOf)
					p.Status = evaluate(buf, at, p.Member != "")
				}
				if ew := ec.get(e.ends, p.Topic, e.window, false, size); ew != nil && idx < len(ew.rate) {
					pr = ew.rate[idx]
				}
			}
			produce += pr
			switch {
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
		// Readers list partitions in order; sort only when one did not.
		less := func(a, b state.PartitionLag) bool {
			if a.Topic != b.Topic {
				return a.Topic < b.Topic
			}
			return a.Partition < b.Partition
		}
		for i := 1; i < len(g.Partitions); i++ {
			if less(g.Partitions[i], g.Partitions[i-1]) {
				sort.Slice(g.Partitions, func(i, j int) bool { return less(g.Partitions[i], g.Partitions[j]) })
				break
			}
		}
		g.TotalLag = total
		g.LagSeconds = maxLagSec
		if unknownLagSec && maxLagSec == 0 {
			g.LagSeconds = -1
		}
		obs := lagstate.Observation{Lag: float64(total), Produce: produce, Consume: consume}
		g.LagState = string(gl.tracker.Observe(obs))
		g.ProduceRate, g.ConsumeRate = produce, consume
		g.ETASeconds = e.rule.ETA(obs)
		if g.Status != state.StatusErr {
			g.Status = GroupStatus(g.Partitions)
		}
	}
	for name, gl := range e.groups {
		if gl.round != round {
			delete(e.groups, name)
			continue
		}
		for t, w := range gl.topics {
			if !w.sweep(round) {
				delete(gl.topics, t)
			}
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
