package redisstore_test

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/aragora/aragora/store/redisstore"
)

// The store wraps a client the caller owns; nothing connects until used,
// so this example runs without a Redis server.
func ExampleNewFromClient() {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer c.Close()
	s := redisstore.NewFromClient(c, redisstore.Config{Prefix: "aragora:"})
	fmt.Println(s.Close())
	// Output: <nil>
}
