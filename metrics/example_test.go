package metrics_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/aragora/aragora/metrics"
)

func ExampleNew() {
	reg := metrics.NewRegistry()
	metrics.New(reg, metrics.Config{Version: "0.8.0", Commit: "abc1234", GoVersion: "go1.26", Agents: []string{"demo-analyst"}})
	w := httptest.NewRecorder()
	metrics.Handler(reg).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, name := range []string{"aragora_build_info", "aragora_debates_total", "aragora_agent_response_seconds", "process_resident_memory_bytes", "go_goroutines"} {
		fmt.Println(name, strings.Contains(string(body), name))
	}
	// Output:
	// aragora_build_info true
	// aragora_debates_total true
	// aragora_agent_response_seconds true
	// process_resident_memory_bytes true
	// go_goroutines true
}
