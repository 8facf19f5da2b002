package api

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProducerPool spreads sources over several franz-go clients (the scaling
// guide's "Kafka producer pool"), each with idempotent acks=all producing.
type ProducerPool struct {
	clients  []*kgo.Client
	topic    string
	timeout  time.Duration
	inflight atomic.Int64
}

// NewProducerPool creates n clients; they connect lazily.
func NewProducerPool(cfg KafkaConfig, extra ...kgo.Opt) (*ProducerPool, error) {
	p := &ProducerPool{topic: cfg.Topic, timeout: cfg.DeliveryTimeout}
	for i := 0; i < cfg.Producers; i++ {
		opts := append([]kgo.Opt{
			kgo.SeedBrokers(cfg.Brokers...),
			kgo.DefaultProduceTopic(cfg.Topic),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(cfg.Linger),
			kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
			// An answer within the delivery timeout matters more than producer
			// idempotency here: a record failed while in flight may still land,
			// and ClickHouse removes that duplicate by id.
			kgo.AllowIdempotentProduceCancellation(),
			kgo.ProduceRequestTimeout(cfg.DeliveryTimeout),
			kgo.ClientID(fmt.Sprintf("wotr-api-%d", i)),
		}, extra...)
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("kafka producer %d: %w", i, err)
		}
		p.clients = append(p.clients, cl)
	}
	return p, nil
}

// Size is the number of producer clients.
func (p *ProducerPool) Size() int { return len(p.clients) }

// Buffered sums records and bytes waiting in all clients.
func (p *ProducerPool) Buffered() (records, bytes int64) {
	for _, c := range p.clients {
		records += c.BufferedProduceRecords()
		bytes += c.BufferedProduceBytes()
	}
	return
}

// InFlight is the number of records handed to Kafka and not yet answered.
func (p *ProducerPool) InFlight() int64 { return p.inflight.Load() }

// ErrNoAck marks a record whose outcome was still unknown when the delivery
// timeout (plus a grace period) ran out; it may or may not land later.
var ErrNoAck = errors.New("kafka did not acknowledge within the delivery timeout")

// clientFor picks a client by record key (the source): one source's events
// go through one client, so they keep their order and batch together, while
// sources spread over the pool.
func (p *ProducerPool) clientFor(key []byte) *kgo.Client {
	h := uint32(2166136261) // FNV-1a
	for _, c := range key {
		h = (h ^ uint32(c)) * 16777619
	}
	return p.clients[h%uint32(len(p.clients))]
}

// Produce writes records and waits until every record is acknowledged or
// failed, or the delivery timeout passes; errs[i] belongs to recs[i]. The
// clients' record delivery timeout fails records on time; ctx only cancels
// them early.
func (p *ProducerPool) Produce(ctx context.Context, recs []*kgo.Record) (errs []error) {
	type outcome struct {
		i   int
		err error
	}
	// Buffered so late callbacks never block after Produce has returned.
	results := make(chan outcome, len(recs))
	p.inflight.Add(int64(len(recs)))
	for i, r := range recs {
		p.clientFor(r.Key).Produce(ctx, r, func(_ *kgo.Record, err error) {
			p.inflight.Add(-1)
			results <- outcome{i, err}
		})
	}
	errs = make([]error, len(recs))
	answered := make([]bool, len(recs))
	// kgo may hold an in-flight record past its context while a broker is
	// unreachable; the caller still gets an answer in bounded time.
	cutoff := time.NewTimer(p.timeout + 500*time.Millisecond)
	defer cutoff.Stop()
	for n := 0; n < len(recs); n++ {
		select {
		case o := <-results:
			errs[o.i], answered[o.i] = o.err, true
		case <-cutoff.C:
			for i := range errs {
				if !answered[i] {
					errs[i] = ErrNoAck
				}
			}
			return errs
		}
	}
	return errs
}

// Ping checks that a broker answers.
func (p *ProducerPool) Ping(ctx context.Context) error {
	if len(p.clients) == 0 {
		return errors.New("no producers")
	}
	return p.clients[0].Ping(ctx)
}

// Flush waits for buffered records (used while draining).
func (p *ProducerPool) Flush(ctx context.Context) error {
	var errs []error
	for _, c := range p.clients {
		errs = append(errs, c.Flush(ctx))
	}
	return errors.Join(errs...)
}

// Close closes every client.
func (p *ProducerPool) Close() {
	for _, c := range p.clients {
		c.Close()
	}
}
