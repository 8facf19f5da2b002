// Package lagstate names what a consumer group's lag is doing: caught up,
// steady, falling behind or catching up (with an ETA). A batching consumer
// commits once per batch, so its lag rises and falls by up to a batch
// between polls; the rule judges the lag against a band sized by the
// batching and the produce rate, and changes the named state only after the
// new one has been seen several polls in a row, so such a consumer reads as
// steady instead of flapping between falling behind and catching up.
package lagstate
