package replication

import (
	"math"
	"testing"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
)

func setData(r state.Replication) *View {
	v := New(common.NewContext(common.NoColorTheme()))
	v.SetData(&common.Data{Snap: state.Snapshot{Replication: r}})
	return v
}

func meta(region string) state.Meta { return state.Meta{Region: region} }

// A standby the primary reports and that reports itself is one row with
// both figures; a Redis replica named by address on one side and by its
// configured name on the other is still one replica.
func TestEachReplicaOnceWithBothFigures(t *testing.T) {
	v := setData(state.Replication{
		Postgres: []state.PGStandby{
			{Meta: meta("primary"), Name: "secondary", State: "streaming", ReplayLagSeconds: 2},
			{Meta: meta("secondary"), Name: "pg-standby", State: "streaming", ReplayLagSeconds: 1, Self: true},
		},
		Redis: []state.RedisReplica{
			{Meta: meta("primary"), Name: "127.0.0.1:6380", LinkStatus: "up", LagSeconds: 0.5},
			{Meta: meta("primary"), Name: "redis-replica", LinkStatus: "up", LagSeconds: 3, Self: true},
		},
	})
	if len(v.rows) != 2 {
		t.Fatalf("%d rows %+v, want one per replica", len(v.rows), v.rows)
	}
	pg, rd := v.rows[0], v.rows[1]
	if pg.name != "secondary" || pg.seen != 2 || pg.own != 1 {
		t.Errorf("postgres row %+v, want secondary seen 2s own 1s", pg)
	}
	if rd.seen != 0.5 || rd.own != 3 || rd.worst() != 3 {
		t.Errorf("redis row %+v, want seen 0.5s own 3s", rd)
	}
}

// Two standbys, each reporting itself from its region: each report joins
// its own standby, none is taken for another.
func TestOwnReportsJoinTheirStandby(t *testing.T) {
	v := setData(state.Replication{Postgres: []state.PGStandby{
		{Meta: meta("eu-central"), Name: "eu-central", ReplayLagSeconds: 5, Self: true},
		{Meta: meta("eu-west"), Name: "eu-north", ReplayLagSeconds: 2},
		{Meta: meta("eu-west"), Name: "eu-central", ReplayLagSeconds: 4},
		{Meta: meta("eu-north"), Name: "standby-north", ReplayLagSeconds: 1, Self: true},
	}})
	got := map[string][2]float64{}
	for _, r := range v.rows {
		got[r.name] = [2]float64{r.seen, r.own}
	}
	want := map[string][2]float64{"eu-central": {4, 5}, "eu-north": {2, 1}}
	if len(got) != 2 || got["eu-central"] != want["eu-central"] || got["eu-north"] != want["eu-north"] {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// A figure nobody reported is "-", not 0s.
func TestMissingFigureIsADash(t *testing.T) {
	if got := lagCell(math.NaN(), 4); got != "   -" {
		t.Errorf("lagCell(NaN) = %q", got)
	}
}
