package ops

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

func (r *ring[T]) len() int {
	if r.full {
		return len(r.buf)
	}
	return r.next
}

// appendTo appends the values oldest first.
func (r *ring[T]) appendTo(dst []T) []T {
	if r.full {
		dst = append(dst, r.buf[r.next:]...)
	}
	return append(dst, r.buf[:r.next]...)
}

// last returns the newest value.
func (r *ring[T]) last() (T, bool) {
	var zero T
	if r.len() == 0 {
		return zero, false
	}
	i := r.next - 1
	if i < 0 {
		i = len(r.buf) - 1
	}
	return r.buf[i], true
}

// first returns the oldest value.
func (r *ring[T]) first() (T, bool) {
	var zero T
	if r.len() == 0 {
		return zero, false
	}
	if r.full {
		return r.buf[r.next], true
	}
	return r.buf[0], true
}
