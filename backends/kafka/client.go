// Package kafka reads brokers, topics, offsets and consumer groups with kadm,
// and holds the clients the actions share.
package kafka

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultGroup is the scaling guide's consumer group.
const DefaultGroup = "wotr-consumer-group"

// DefaultTimeout bounds each request to the brokers.
const DefaultTimeout = 10 * time.Second

// Client is one region's Kafka admin and raw clients.
type Client struct {
	Admin *kadm.Client
	Kgo   *kgo.Client
	Group string
	// Topics to report; empty means every non-internal topic.
	Topics []string

	requests atomic.Int64 // requests written to brokers, counted by a kgo hook
}

// New connects to the endpoint's brokers. The connection is lazy: New fails
// only on bad configuration.
func New(ep config.KafkaEndpoint, extra ...kgo.Opt) (*Client, error) {
	if len(ep.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers configured")
	}
	c := &Client{Group: ep.Group, Topics: ep.Topics}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(ep.Brokers...),
		kgo.RequestTimeoutOverhead(DefaultTimeout),
		kgo.DialTimeout(5 * time.Second),
		kgo.RetryTimeout(DefaultTimeout),
		kgo.WithHooks(requestCounter{&c.requests}),
	}
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	c.Kgo = cl
	c.Admin = kadm.NewClient(cl)
	c.Admin.SetTimeoutMillis(int32(DefaultTimeout / time.Millisecond))
	return c, nil
}

// Close releases the connections.
func (c *Client) Close() { c.Kgo.Close() }

// Requests is the number of requests written to brokers so far.
func (c *Client) Requests() int64 { return c.requests.Load() }

// withTimeout applies DefaultTimeout when ctx has no earlier deadline.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// requestCounter counts every request written to a broker, connection
// handshakes (ApiVersions) included, so round trips are measured, not assumed.
type requestCounter struct{ n *atomic.Int64 }

func (h requestCounter) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err == nil {
		h.n.Add(1)
	}
}
