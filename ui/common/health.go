package common

import (
	"github.com/wotr/wotr-tui/ops/state"
)

// Health thresholds. They are the console's view of "needs a look", not
// alert rules.
const (
	ErrorRateWarn = 0.01
	ErrorRateCrit = 0.05
	LagWarnSec    = 5
	LagCritSec    = 60
	PoolWarn      = 0.80
	PoolCrit      = 0.95
)

// StatusLevel maps a Burrow status onto a level.
func StatusLevel(s state.Status) Level {
	switch s {
	case state.StatusOK:
		return LevelOK
	case state.StatusWarn, state.StatusRewind:
		return LevelWarn
	case state.StatusStall, state.StatusStop, state.StatusErr:
		return LevelCrit
	}
	return LevelNone
}

// InstanceLevel: not ready or erroring.
func InstanceLevel(in state.Instance) Level {
	switch {
	case !in.Ready || in.ErrorRate >= ErrorRateCrit:
		return LevelCrit
	case in.ErrorRate >= ErrorRateWarn || in.Stale:
		return LevelWarn
	}
	return LevelOK
}

// LagLevel of a replication lag in seconds.
func LagLevel(sec float64) Level {
	switch {
	case sec >= LagCritSec:
		return LevelCrit
	case sec >= LagWarnSec:
		return LevelWarn
	}
	return LevelOK
}

// PGLevel of a standby.
func PGLevel(s state.PGStandby) Level {
	if s.State != "" && s.State != "streaming" {
		return LevelCrit
	}
	l := LagLevel(s.ReplayLagSeconds)
	if s.ReplayPaused {
		l = Worst(l, LevelWarn)
	}
	return l
}

// CHLevel of a replica.
func CHLevel(r state.CHReplica) Level {
	if r.IsReadonly || r.SessionExpired {
		return LevelCrit
	}
	return LagLevel(r.AbsoluteDelay)
}

// RedisLevel of a replica.
func RedisLevel(r state.RedisReplica) Level {
	if r.LinkStatus != "up" {
		return LevelCrit
	}
	return LagLevel(r.LagSeconds)
}

// UtilLevel of a pool or connection utilisation.
func UtilLevel(f float64) Level {
	switch {
	case f >= PoolCrit:
		return LevelCrit
	case f >= PoolWarn:
		return LevelWarn
	}
	return LevelOK
}

// NodeLevel: not ready is critical, cordoned is a warning.
func NodeLevel(n state.Node) Level {
	switch {
	case !n.Ready:
		return LevelCrit
	case n.Cordoned:
		return LevelWarn
	}
	return LevelOK
}

// DeploymentLevel: no ready replica is critical, fewer than desired a warning.
func DeploymentLevel(d state.Deployment) Level {
	switch {
	case d.Desired > 0 && d.Ready == 0:
		return LevelCrit
	case d.Ready < d.Desired:
		return LevelWarn
	}
	return LevelOK
}

// BackupLevel of one backup.
func BackupLevel(b state.Backup) Level {
	switch b.State {
	case "failed":
		return LevelCrit
	case "running":
		return LevelNone
	}
	return LevelOK
}
