package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// offsetFixture is a topic with 20 records per partition and a group that
// committed 10, 15 and 20.
type offsetFixture struct {
	topic, group string
	adm          *kadm.Client
	brokers      []string
}

func newOffsetFixture(t *testing.T, p *local.Platform) *offsetFixture {
	t.Helper()
	ctx := context.Background()
	f := &offsetFixture{topic: fmt.Sprintf("reset-%d", time.Now().UnixNano()), group: fmt.Sprintf("reset-group-%d", time.Now().UnixNano()), brokers: p.Kafka.Brokers}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	f.adm = kadm.NewClient(cl)
	if _, err := f.adm.CreateTopic(ctx, 3, 1, nil, f.topic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for part := int32(0); part < 3; part++ {
		for i := 0; i < 20; i++ {
			recs = append(recs, &kgo.Record{Topic: f.topic, Partition: part, Value: []byte("e")})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	f.commit(t, map[int32]int64{0: 10, 1: 15, 2: 20})
	return f
}

func (f *offsetFixture) commit(t *testing.T, offs map[int32]int64) {
	t.Helper()
	commitOffsets(t, f.brokers, f.group, f.topic, offs)
}

func (f *offsetFixture) committed(t *testing.T) string {
	t.Helper()
	got, err := f.adm.FetchOffsets(context.Background(), f.group)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int32]int64{}
	for p, o := range got[f.topic] {
		m[p] = o.At
	}
	return action.FormatOffsets(m)
}

// followConsumers stands in for the consumer pods' processes (kwok runs
// none): while the Deployment has ready replicas, one real group member
// consumes the topic (without committing); at 0 it leaves the group.
func followConsumers(t *testing.T, cs kubernetes.Interface, ns, dep string, f *offsetFixture) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		var member *kgo.Client
		defer func() {
			if member != nil {
				member.Close()
			}
		}()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, dep, metav1.GetOptions{})
			if err != nil {
				continue
			}
			switch {
			case d.Status.ReadyReplicas > 0 && member == nil:
				member, err = kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.ConsumerGroup(f.group), kgo.ConsumeTopics(f.topic), kgo.DisableAutoCommit())
				if err != nil {
					continue
				}
				go func(cl *kgo.Client) {
					for {
						fs := cl.PollFetches(ctx)
						if fs.IsClientClosed() || ctx.Err() != nil {
							return
						}
					}
				}(member)
			case d.Status.ReadyReplicas == 0 && d.Status.Replicas == 0 && member != nil:
				member.Close() // leaves the group
				member = nil
			}
		}
	}()
}

func groupMembers(t *testing.T, f *offsetFixture) int {
	t.Helper()
	dg, err := f.adm.DescribeGroups(context.Background(), f.group)
	if err != nil {
		t.Fatal(err)
	}
	return len(dg[f.group].Members)
}

func TestOffsetResetRefusesBadInput(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	f := newOffsetFixture(t, p)
	cc := contextFor(t, p)
	cc.Regions[0].Kube = nil
	cc.Regions[0].Kafka.Group = f.group
	app := newCLI(t).withContext(cc)
	before := f.committed(t)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"no-such-group", "--topic", f.topic, "--to-earliest"}, []string{`consumer group "no-such-group" does not exist`}},
		{[]string{f.group, "--topic", "no-such-topic", "--to-earliest"}, []string{`topic "no-such-topic" does not exist`}},
		// Partition 0 committed 10 with the log from 0: back 11 is past the start.
		{[]string{f.group, "--topic", f.topic, "--shift-by", "-11"}, []string{"shift-by -11 runs past the log start", "/0", "log start 0"}},
		{[]string{f.group, "--topic", f.topic, "--to-datetime", future}, []string{future, "is in the future"}},
		{[]string{f.group, "--topic", f.topic, "--to-datetime", "yesterday"}, []string{`"yesterday" is not an RFC 3339 time`}},
		{[]string{f.group, "--topic", f.topic, "--to-earliest", "--to-latest"}, []string{"exactly one of", "--to-earliest and --to-latest"}},
		{[]string{f.group, "--topic", f.topic}, []string{"exactly one of", "got none"}},
		{[]string{f.group, "--to-earliest"}, []string{"needs --topic"}},
		{[]string{f.group, "--topic", f.topic, "--to-backup", "no-such-set"}, []string{`to-backup "no-such-set" is not a backup set`}},
		{[]string{f.group, "--topic", f.topic, "--to-offsets", "0=1,9=2"}, []string{"partition 9 is not a partition"}},
	} {
		r := app.run(append(append([]string{"offsets", "reset"}, c.args...), "--yes")...)
		mustCode(t, r, ExitUsage)
		for _, w := range c.want {
			if !strings.Contains(r.err, w) {
				t.Errorf("%v: error %q does not say %q", c.args, strings.TrimSpace(r.err), w)
			}
		}
	}
	if after := f.committed(t); after != before {
		t.Fatalf("bad input changed the offsets: %s -> %s", before, after)
	}

	t.Run("to-datetime before every record is the log start", func(t *testing.T) {
		r := app.run("offsets", "reset", f.group, "--topic", f.topic, "--to-datetime", "2000-01-01T00:00:00Z", "--dry-run", "-o", "json")
		mustCode(t, r, ExitOK)
		d := r.doc(t)
		if d.Plan.OffsetReset == nil || d.Plan.OffsetReset.Replayed != 45 {
			t.Fatalf("plan %+v, want 10+15+20 replayed", d.Plan.OffsetReset)
		}
		if after := f.committed(t); after != before {
			t.Fatalf("dry run committed: %s -> %s", before, after)
		}
	})
	t.Run("to-backup uses the set's recorded offsets", func(t *testing.T) {
		rec := map[string]int64{f.topic + "/0": 4, f.topic + "/1": 5, f.topic + "/2": 6}
		e := backup.Entry{Backup: state.Backup{Store: state.SystemPostgres, ID: "set-1", State: "done", StartedAt: time.Now(), KafkaOffsets: rec}}
		if err := backup.PutEntry(backup.Dir(cc), e); err != nil {
			t.Fatal(err)
		}
		r := app.run("offsets", "reset", f.group, "--topic", f.topic, "--to-backup", "set-1", "--yes", "-o", "json")
		mustCode(t, r, ExitOK)
		if got := f.committed(t); got != "0=4,1=5,2=6" {
			t.Fatalf("committed %s after reset to the backup's offsets", got)
		}
		f.commit(t, map[int32]int64{0: 10, 1: 15, 2: 20})
	})
	t.Run("undo after the group moved on warns of the replay", func(t *testing.T) {
		mustCode(t, app.run("offsets", "reset", f.group, "--topic", f.topic, "--to-offsets", "0=5", "--yes"), ExitOK)
		recs, err := audit.NewLog(cc.AuditLog).Records(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		f.commit(t, map[int32]int64{0: 18}) // the consumers went on past 10
		r := app.run("undo", recs[0].ActionID(), "--yes", "-o", "json")
		mustCode(t, r, ExitOK)
		if w := strings.Join(r.doc(t).Plan.Warnings, "\n"); !strings.Contains(w, "replays 8 events") {
			t.Errorf("undo plan warnings %q, want the 8 events replayed", w)
		}
		if got := f.committed(t); got != before {
			t.Fatalf("after undo %s, want %s", got, before)
		}
	})
	t.Run("read-only context", func(t *testing.T) {
		ro := cc
		ro.ReadOnly = true
		r := newCLI(t).withContext(ro).run("offsets", "reset", f.group, "--topic", f.topic, "--to-earliest", "--yes")
		mustCode(t, r, ExitRefused)
		if after := f.committed(t); after != before {
			t.Fatalf("read-only context committed: %s -> %s", before, after)
		}
	})
}

// Against live members the reset is refused unless it stops the consumers;
// with --stop-consumers it scales wotr-consumer to 0, resets, scales back,
// and undo puts the previous offsets back the same way.
func TestOffsetResetStopsConsumersAndUndo(t *testing.T) {
	p := localtest.Platform(t, local.Kafka, local.Kube)
	f := newOffsetFixture(t, p)
	cc := contextFor(t, p)
	cc.Regions[0].Kafka.Group = f.group
	app := newCLI(t).withContext(cc)
	cs, ns := p.Kube.Clientset, p.Kube.Namespace
	createDeployment(t, cs, deployment("wotr-consumer", ns, 2, nil, nil))
	// As in the demo, an HPA owns the consumers: it must not restart them mid-reset.
	hpa := hpaFor("wotr-consumer", ns, 2, 5)
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(context.Background(), hpa.Name, metav1.DeleteOptions{}) //nolint:errcheck
	followConsumers(t, cs, ns, "wotr-consumer", f)
	eventually(t, 30*time.Second, "a group member", func() (bool, string) {
		n := groupMembers(t, f)
		return n > 0, fmt.Sprintf("%d members", n)
	})
	before := f.committed(t)

	r := app.run("offsets", "reset", f.group, "--topic", f.topic, "--shift-by", "-5", "--yes", "-o", "json")
	mustCode(t, r, ExitRefused)
	if c := checkByName(r.doc(t).Plan.Checks, "group members"); c == nil || c.Status != action.CheckFail || !strings.Contains(c.Detail, "--stop-consumers") {
		t.Fatalf("live members check: %+v", c)
	}
	r = app.run("offsets", "reset", f.group, "--topic", f.topic, "--shift-by", "-5", "--stop-consumers", "--dry-run")
	mustCode(t, r, ExitOK)
	for _, want := range []string{"15 events replayed, 0 skipped", f.topic + "/0: 10 -> 5 (log 0..20), replays 5", "scaled to 0 first and back to 2 after", "HPA wotr-consumer-hpa owns wotr-consumer: it is inactive"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("dry-run plan does not show %q:\n%s", want, r.out)
		}
	}
	t.Logf("dry run:\n%s%s", r.out, r.err)
	if got := f.committed(t); got != before {
		t.Fatalf("refused or dry-run reset changed offsets: %s -> %s", before, got)
	}
	if d, _ := cs.AppsV1().Deployments(ns).Get(context.Background(), "wotr-consumer", metav1.GetOptions{}); *d.Spec.Replicas != 2 {
		t.Fatalf("dry run scaled the consumers to %d", *d.Spec.Replicas)
	}

	r = app.run("offsets", "reset", f.group, "--topic", f.topic, "--shift-by", "-5", "--stop-consumers", "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	d := r.doc(t)
	if d.Result.OffsetReset == nil || d.Result.OffsetReset.Replayed != 15 {
		t.Fatalf("result reset %+v, want 15 replayed", d.Result.OffsetReset)
	}
	for _, name := range []string{"offsets committed", "consumers restarted", "group has members"} {
		if c := checkByName(d.Result.Verified, name); c == nil || c.Status != action.CheckPass {
			t.Errorf("verified %s: %+v", name, c)
		}
	}
	var ran []string
	for _, ph := range d.Result.Phases {
		if !ph.Skipped {
			ran = append(ran, ph.Name)
		}
	}
	if strings.Join(ran, ",") != "stop consumers,group empty,commit offsets,verify offsets,start consumers" {
		t.Errorf("phases run: %v", ran)
	}
	if got := f.committed(t); got != "0=5,1=10,2=15" {
		t.Fatalf("committed %s, want 0=5,1=10,2=15", got)
	}
	if dep, _ := cs.AppsV1().Deployments(ns).Get(context.Background(), "wotr-consumer", metav1.GetOptions{}); *dep.Spec.Replicas != 2 {
		t.Fatalf("consumers at %d replicas after the reset, want 2", *dep.Spec.Replicas)
	}

	// The intent, written before anything ran, holds the previous offsets.
	recs, err := audit.NewLog(cc.AuditLog).Records(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	id := recs[0].ActionID()
	var intentPlan action.Plan
	if err := json.Unmarshal(recs[0].Plan, &intentPlan); err != nil || intentPlan.OffsetReset == nil || action.FormatOffsets(intentPlan.OffsetReset.Previous()) != before {
		t.Fatalf("audit plan previous offsets: %+v %v, want %s", intentPlan.OffsetReset, err, before)
	}

	r = app.run("undo", id, "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	if got := f.committed(t); got != before {
		t.Fatalf("after undo committed %s, want %s", got, before)
	}
	if dep, _ := cs.AppsV1().Deployments(ns).Get(context.Background(), "wotr-consumer", metav1.GetOptions{}); *dep.Spec.Replicas != 2 {
		t.Fatalf("consumers at %d replicas after the undo, want 2", *dep.Spec.Replicas)
	}
	r = app.run("undo", id, "--yes")
	mustCode(t, r, ExitRefused)
	if !strings.Contains(r.out, "already undone") {
		t.Fatalf("second undo: %s", r.out)
	}
	r = app.run("audit")
	mustCode(t, r, ExitOK)
	if !strings.Contains(r.out, "undoes "+id) {
		t.Fatalf("audit does not link the undo to %s:\n%s", id, r.out)
	}
}

// Undo of scale, HPA bounds and cordon against the local apiserver.
func TestUndoScaleHPAAndCordon(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	cc := contextFor(t, p)
	cc.Regions[0].Kafka = nil
	app := newCLI(t).withContext(cc)
	cs, ns := p.Kube.Clientset, p.Kube.Namespace
	ctx := context.Background()
	createDeployment(t, cs, deployment("wotr-consumer", ns, 2, nil, nil))
	lastID := func() string {
		recs, err := audit.NewLog(cc.AuditLog).Records(ctx, 1)
		if err != nil || len(recs) == 0 {
			t.Fatalf("audit: %v", err)
		}
		return recs[0].ActionID()
	}
	replicas := func() int32 {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "wotr-consumer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}

	mustCode(t, app.run("scale", "consumer", "--replicas", "3", "--yes"), ExitOK)
	scaled := lastID()
	mustCode(t, app.run("undo", scaled, "--dry-run"), ExitOK)
	if n := replicas(); n != 3 {
		t.Fatalf("dry-run undo changed replicas to %d", n)
	}
	r := app.run("undo", scaled, "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	if n := replicas(); n != 2 {
		t.Fatalf("replicas %d after undo, want 2", n)
	}
	if c := checkByName(r.doc(t).Plan.Checks, "way back recorded"); c == nil || !strings.Contains(c.Detail, "--replicas=2") {
		t.Errorf("way back check: %+v", c)
	}
	mustCode(t, app.run("undo", scaled, "--yes"), ExitRefused)

	node, err := p.Kube.AddNode(ctx, "undo-test-0", local.KubeZone{Region: "primary", Zone: "primary-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kube.RemoveNode(ctx, node) //nolint:errcheck
	mustCode(t, app.run("cordon", node, "--yes"), ExitOK)
	mustCode(t, app.run("undo", lastID(), "--yes"), ExitOK)
	if n, _ := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); n.Spec.Unschedulable {
		t.Fatal("node still cordoned after undoing the cordon")
	}
	mustCode(t, app.run("drain", node, "--yes"), ExitOK)
	mustCode(t, app.run("undo", lastID(), "--yes"), ExitOK)
	if n, _ := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); n.Spec.Unschedulable {
		t.Fatal("node still cordoned after undoing the drain")
	}
	// Cordoning a cordoned node changes nothing: there is nothing to undo.
	mustCode(t, app.run("cordon", node, "--yes"), ExitOK)
	mustCode(t, app.run("cordon", node, "--yes"), ExitOK)
	r = app.run("undo", lastID(), "--yes")
	mustCode(t, r, ExitRefused)
	if !strings.Contains(r.out, "recorded no previous state") {
		t.Errorf("undo of a no-op cordon: %s", r.out)
	}
	mustCode(t, app.run("uncordon", node, "--yes"), ExitOK)

	t.Run("HPA bounds", func(t *testing.T) {
		hpaMin := int32(2)
		hpa := hpaFor("wotr-consumer", ns, hpaMin, 5)
		if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, hpa.Name, metav1.DeleteOptions{}) //nolint:errcheck
		mustCode(t, app.run("scale", "consumer", "--min", "3", "--max", "8", "--yes"), ExitOK)
		mustCode(t, app.run("undo", lastID(), "--yes"), ExitOK)
		got, _ := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, hpa.Name, metav1.GetOptions{})
		if *got.Spec.MinReplicas != 2 || got.Spec.MaxReplicas != 5 {
			t.Fatalf("HPA bounds %d..%d after undo, want 2..5", *got.Spec.MinReplicas, got.Spec.MaxReplicas)
		}
	})
}

func hpaFor(dep, ns string, min, max int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: dep + "-hpa", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: dep},
			MinReplicas:    &min, MaxReplicas: max,
		},
	}
}

func commitOffsets(t *testing.T, brokers []string, group, topic string, offs map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	os := kadm.Offsets{}
	for part, o := range offs {
		os.Add(kadm.Offset{Topic: topic, Partition: part, At: o, LeaderEpoch: -1})
	}
	if _, err := kadm.NewClient(cl).CommitOffsets(context.Background(), group, os); err != nil {
		t.Fatal(err)
	}
}

// A member outside the Deployment keeps the group from emptying: the
// reset fails without committing, the consumers are scaled back, and the
// failed record cannot be undone.
func TestOffsetResetScalesConsumersBackWhenTheGroupStaysBusy(t *testing.T) {
	p := localtest.Platform(t, local.Kafka, local.Kube)
	f := newOffsetFixture(t, p)
	cc := contextFor(t, p)
	cc.Regions[0].Kafka.Group = f.group
	cs, ns := p.Kube.Clientset, p.Kube.Namespace
	createDeployment(t, cs, deployment("wotr-consumer", ns, 2, nil, nil))
	stray, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...), kgo.ConsumerGroup(f.group), kgo.ConsumeTopics(f.topic), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); stray.Close() }()
	go func() {
		for ctx.Err() == nil && !stray.PollFetches(ctx).IsClientClosed() {
		}
	}()
	eventually(t, 30*time.Second, "the stray member joined", func() (bool, string) {
		n := groupMembers(t, f)
		return n > 0, fmt.Sprintf("%d members", n)
	})
	before := f.committed(t)

	plat := wire.Open(context.Background(), cc)
	defer plat.Close()
	svc := plat.Actions()
	svc.Options.VerifyTimeout = 3 * time.Second
	plan, err := svc.Plan(context.Background(), action.Request{Kind: action.KindOffsetReset, Target: f.group,
		Params: map[string]string{"topic": f.topic, "to-earliest": "true", "stop-consumers": "true"}})
	if err != nil || plan.Blocked {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	res, err := svc.Execute(context.Background(), plan, "yes", nil)
	if err == nil || !strings.Contains(err.Error(), "wotr-consumer scaled back to 2") {
		t.Fatalf("execute: %v (%+v), want a failure that scaled the consumers back", err, res)
	}
	if got := f.committed(t); got != before {
		t.Fatalf("a failed reset committed: %s -> %s", before, got)
	}
	waitReady(t, cs, ns, "wotr-consumer", 2)
	recs, _ := audit.NewLog(cc.AuditLog).Records(context.Background(), 1)
	if recs[0].Outcome != audit.OutcomeFailed {
		t.Fatalf("audit outcome %q, want failed", recs[0].Outcome)
	}
	r := newCLI(t).withContext(cc).run("undo", recs[0].ActionID(), "--yes")
	mustCode(t, r, ExitRefused)
	if !strings.Contains(r.out, "ended failed") {
		t.Errorf("undo of a failed reset: %s", r.out)
	}
}
