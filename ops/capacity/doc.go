// Package capacity holds the sizing rules shared by the collector and the
// actions: a rolling update's surge, the default pool sizes and the stores a
// deployment holds pools to, so the connection budget is computed one way.
package capacity
