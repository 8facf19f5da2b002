package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// One source always goes through the same client (its events keep their
// order), and many sources use the whole pool.
func TestProducerPoolPicksClientBySource(t *testing.T) {
	// Clients connect lazily: nothing listens on this address and nothing dials it.
	p, err := NewProducerPool(KafkaConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Producers: 5, DeliveryTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	used := map[*kgo.Client]bool{}
	for i := 0; i < 100; i++ {
		key := []byte(fmt.Sprintf("source-%d", i))
		cl := p.clientFor(key)
		for range 3 {
			if p.clientFor(key) != cl {
				t.Fatalf("source %s moved between clients", key)
			}
		}
		used[cl] = true
	}
	if len(used) != p.Size() {
		t.Fatalf("100 sources used %d of %d clients", len(used), p.Size())
	}
}
