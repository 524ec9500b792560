// Package redisstore carries what replicas share through Redis: the live
// fan-out of debate events and a few small caches. It is never a primary
// store: the durable record stays in SQLite or Postgres, so a Redis FLUSHALL
// (or a failover that loses data) loses nothing that cannot be rebuilt;
// WebSocket clients fill any gap from the store by seq (docs/websocket.md#resume).
//
// # Key layout
//
// Every key and channel starts with Config.Prefix (default "aragora:"):
//
//	<prefix>events:<debate_id>   pub/sub channel: one message per event, JSON
//	                             {"debate_id","seq","type","json"}; no TTL
//	                             (channels hold no data)
//	<prefix>cache:<name>         string; generic cache entry (SetCache);
//	                             TTL as given, default Config.CacheTTL (5 min)
//	<prefix>revoked:<token_id>   string "1"; a revoked token (the deny-list
//	                             cache of docs/http-api.md#administration); TTL until the token
//	                             would have expired anyway
//
// # Ordering and loss
//
// Redis delivers the messages of one channel in the order it received
// them, so events published one after another for a debate (each Publish
// returning before the next starts) reach every subscriber in seq order.
// Pub/sub is at-most-once: messages published while a subscriber is
// disconnected are lost. A [Subscription] reconnects by itself and carries
// on; a consumer that sees a seq jump reads the missing events from the
// store.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aragora/aragora/store"
)

// Config tunes a Store. The zero value is usable.
type Config struct {
	// Prefix starts every key and channel; default "aragora:".
	Prefix string
	// CacheTTL is the TTL of SetCache entries given none; default 5 min.
	CacheTTL time.Duration
	// Buffer is the per-subscription channel buffer; default 256
	// (ARAGORA_WS_SEND_BUFFER).
	Buffer int
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "aragora:"
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 5 * time.Minute
	}
	if c.Buffer <= 0 {
		c.Buffer = 256
	}
	return c
}

// Store publishes and caches through a caller's Redis client. It is safe
// for concurrent use. It holds no resources of its own beyond open
// subscriptions; Close does not close the client.
type Store struct {
	c   redis.UniversalClient
	cfg Config
}

var _ store.Pinger = (*Store)(nil)

// NewFromClient wraps c (a *redis.Client, *redis.ClusterClient or
// *redis.Ring).
func NewFromClient(c redis.UniversalClient, cfg Config) *Store {
	return &Store{c: c, cfg: cfg.withDefaults()}
}

// Ping checks Redis answers (the health check of docs/http-api.md#health-and-metrics).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Close does nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

func (s *Store) channel(debateID string) string { return s.cfg.Prefix + "events:" + debateID }

type wireEvent struct {
	DebateID string          `json:"debate_id"`
	Seq      int64           `json:"seq"`
	Type     string          `json:"type"`
	JSON     json.RawMessage `json:"json"`
}

// Publish sends e to every subscriber of debateID on any replica. It
// returns once Redis accepted it; publish a debate's events sequentially to
// keep their order.
func (s *Store) Publish(ctx context.Context, debateID string, e store.Event) error {
	msg, err := json.Marshal(wireEvent{DebateID: debateID, Seq: e.Seq, Type: e.Type, JSON: e.JSON})
	if err != nil {
		return fmt.Errorf("redisstore: publish %q seq %d: %w", debateID, e.Seq, err)
	}
	if err := s.c.Publish(ctx, s.channel(debateID), msg).Err(); err != nil {
		return fmt.Errorf("redisstore: publish %q seq %d: %w", debateID, e.Seq, err)
	}
	return nil
}

// Subscription receives one debate's events. Close it when done.
type Subscription struct {
	// C delivers events in publish order. It is closed after Close or when
	// the subscription's context ends. A slow reader makes Redis messages
	// queue in the client; once Config.Buffer events wait in C, further
	// ones are dropped (the reader recovers them from the store by seq).
	C <-chan store.Event

	cancel context.CancelFunc
	done   chan struct{}
}

// Close unsubscribes and waits for the delivery goroutine to end. It may
// be called more than once.
func (sub *Subscription) Close() error {
	sub.cancel()
	<-sub.done
	return nil
}

// Subscribe starts receiving debateID's events; it returns once Redis
// confirmed the subscription, so events published afterwards are received.
// It starts one goroutine, ended by Close or ctx. After a lost connection
// the subscription reconnects and resubscribes by itself (go-redis
// PubSub); events published meanwhile are missed.
func (s *Store) Subscribe(ctx context.Context, debateID string) (*Subscription, error) {
	ps := s.c.Subscribe(ctx, s.channel(debateID))
	if _, err := ps.Receive(ctx); err != nil { // the subscribe confirmation
		_ = ps.Close()
		return nil, fmt.Errorf("redisstore: subscribe %q: %w", debateID, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan store.Event, s.cfg.Buffer)
	sub := &Subscription{C: out, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sub.done)
		defer close(out)
		defer ps.Close()
		in := ps.Channel(redis.WithChannelSize(s.cfg.Buffer))
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				var w wireEvent
				if json.Unmarshal([]byte(m.Payload), &w) != nil {
					continue // not ours; ignore
				}
				e := store.Event{DebateID: w.DebateID, Seq: w.Seq, Type: w.Type, JSON: w.JSON}
				select {
				case out <- e:
				default: // reader too slow: drop, it catches up from the store
				}
			}
		}
	}()
	return sub, nil
}

// SetCache stores value under name for ttl (<= 0: Config.CacheTTL).
func (s *Store) SetCache(ctx context.Context, name string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = s.cfg.CacheTTL
	}
	if err := s.c.Set(ctx, s.cfg.Prefix+"cache:"+name, value, ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: set cache %q: %w", name, err)
	}
	return nil
}

// GetCache returns the cached value, or an error wrapping store.ErrNotFound
// when it is missing or expired.
func (s *Store) GetCache(ctx context.Context, name string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.cfg.Prefix+"cache:"+name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: cache %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get cache %q: %w", name, err)
	}
	return b, nil
}

// DeleteCache removes the entries with the given names ("cleanup caches");
// missing ones are not an error.
func (s *Store) DeleteCache(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = s.cfg.Prefix + "cache:" + n
	}
	if err := s.c.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("redisstore: delete cache: %w", err)
	}
	return nil
}

// Revoke caches tokenID as revoked until expiresAt (the token's own
// expiry), measured against now. The durable revocation lives in the
// primary store; this is the fast path every replica checks. A token
// already expired at now is not cached.
func (s *Store) Revoke(ctx context.Context, tokenID string, expiresAt, now time.Time) error {
	ttl := expiresAt.Sub(now)
	if ttl <= 0 {
		return nil
	}
	if err := s.c.Set(ctx, s.cfg.Prefix+"revoked:"+tokenID, "1", ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: revoke %q: %w", tokenID, err)
	}
	return nil
}

// IsRevoked reports whether tokenID is in the deny-list cache. A miss is
// not proof of validity after a FLUSHALL: callers fall back to the store.
func (s *Store) IsRevoked(ctx context.Context, tokenID string) (bool, error) {
	n, err := s.c.Exists(ctx, s.cfg.Prefix+"revoked:"+tokenID).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: is revoked %q: %w", tokenID, err)
	}
	return n > 0, nil
}
