package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func auditCLI(t *testing.T, n int) (*testCLI, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log := audit.NewLog(path)
	for i := 0; i < n; i++ {
		id := audit.NewID()
		for _, r := range []audit.Record{
			{Kind: audit.KindIntent, ID: id, Who: "op", Context: "c", Action: "cordon", Target: "node-1", Plan: json.RawMessage(`{"summary":"cordon node-1"}`)},
			{Kind: audit.KindResult, Intent: id, Who: "op", Context: "c", Action: "cordon", Target: "node-1", Outcome: audit.OutcomeOK, Summary: "node-1 is now unschedulable"},
		} {
			if err := log.Append(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return newCLI(t).withContext(config.ContextConfig{Name: "c", AuditLog: path}), path
}

func TestAuditVerify(t *testing.T) {
	app, path := auditCLI(t, 3)
	r := app.run("audit", "verify")
	mustCode(t, r, ExitOK)
	if !strings.HasPrefix(r.out, "intact: ") || !strings.Contains(r.out, "6 records") || !strings.Contains(r.out, "head: sha256:") {
		t.Fatalf("intact log:\n%s", r.out)
	}
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	// Line 4's summary is edited: line 5 no longer names its hash.
	lines[3] = bytes.Replace(lines[3], []byte("unschedulable"), []byte("schedulable!!"), 1)
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	r = app.run("audit", "verify")
	mustCode(t, r, ExitFailed)
	if !strings.Contains(r.out, "BROKEN: "+path+": line 4: edited") {
		t.Fatalf("edited log:\n%s", r.out)
	}
	t.Logf("%s", r.out)
	r = app.run("audit", "verify", "-o", "json")
	mustCode(t, r, ExitFailed)
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || rep.Intact || rep.Problems[0].Line != 4 {
		t.Fatalf("json report: %v\n%s", err, r.out)
	}
}

func TestAuditListsAnIntentWithoutAResultAsInterrupted(t *testing.T) {
	app, path := auditCLI(t, 1)
	log := audit.NewLog(path)
	if err := log.Append(audit.Record{Kind: audit.KindIntent, ID: "x1", Who: "op", Host: "gone-host", PID: 1, Context: "c",
		Action: "drain", Target: "node-2", Summary: "drain node-2"}); err != nil {
		t.Fatal(err)
	}
	// Torn by a crash: reported on stderr, the readable records still listed.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"prev":"ab`)
	f.Close()
	r := app.run("audit")
	mustCode(t, r, ExitOK)
	rows := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(rows) != 3 || !strings.Contains(rows[1], "drain") || !strings.Contains(rows[1], "interrupted") || !strings.Contains(rows[2], "ok") {
		t.Fatalf("audit table:\n%s", r.out)
	}
	if !strings.Contains(r.err, "line 4: torn") {
		t.Fatalf("torn line not reported: %q", r.err)
	}
	r = app.run("audit", "-o", "json")
	var recs []audit.Record
	if err := json.Unmarshal([]byte(r.out), &recs); err != nil || len(recs) != 2 || recs[0].Outcome != audit.OutcomeInterrupted || recs[1].Plan == nil {
		t.Fatalf("audit json: %v\n%s", err, r.out)
	}
}

// With an unwritable audit log, cordon is refused and the node stays schedulable.
func TestCordonWithAnUnwritableAuditLogChangesNothing(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	cc := contextFor(t, p)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cc.AuditLog = filepath.Join(blocker, "audit.jsonl")
	ctx := context.Background()
	node, err := p.Kube.AddNode(ctx, "audit-refuse-0", local.KubeZone{Region: "primary", Zone: "primary-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kube.RemoveNode(ctx, node) //nolint:errcheck
	r := newCLI(t).withContext(cc).run("cordon", node, "--yes", "-o", "json")
	mustCode(t, r, ExitRefused)
	if d := r.doc(t); !strings.Contains(d.Error, "audit intent not written") {
		t.Fatalf("error %q", d.Error)
	}
	n, err := p.Kube.Clientset.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Spec.Unschedulable {
		t.Fatal("node cordoned although its intent could not be written")
	}
}
