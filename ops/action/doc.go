// Package action is the action contract (Request, Plan, Check, Result, Actor)
// and the service that runs it: plan (read state, preflight checks) -> confirm ->
// execute with progress -> verify -> audit. One file per action; the
// capabilities each needs are the small interfaces it declares (Scaler, Drainer,
// Promoter, BackupTaker, ...), implemented by backends. An action that can
// be reversed records its way back, from the state it found, in Result.Undo;
// the undo action runs that request.
package action
