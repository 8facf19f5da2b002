package collect

// ring is a fixed-capacity buffer keeping the newest values.
type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func newRing[T any](capacity int) *ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &ring[T]{buf: make([]T, capacity)}
}

func (r *ring[T]) push(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next = 0
		r.full = true
	}
}

// appendTo appends the values oldest first.
func (r *ring[T]) appendTo(dst []T) []T {
	if r.full {
		dst = append(dst, r.buf[r.next:]...)
	}
	return append(dst, r.buf[:r.next]...)
}
