// Package readtest holds the read side's integration tests: every backend
// against a real platform/local component, checked against ground truth the
// test itself creates (records produced and committed, replay paused,
// connections held, fetches stopped).
package readtest
