package lifecycle

import (
	"os"
	"strconv"
	"strings"
)

// parseHolder returns the host and process id a lease owner name carries:
// NewHolder's host-pid-random and the CLI's cli:host:pid. ok is false for
// any other name.
func parseHolder(h string) (host string, pid int, ok bool) {
	if rest, found := strings.CutPrefix(h, "cli:"); found {
		i := strings.LastIndexByte(rest, ':')
		if i <= 0 {
			return "", 0, false
		}
		pid, err := strconv.Atoi(rest[i+1:])
		return rest[:i], pid, err == nil && pid > 0
	}
	i := strings.LastIndexByte(h, '-')
	if i <= 0 {
		return "", 0, false
	}
	j := strings.LastIndexByte(h[:i], '-')
	if j <= 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(h[j+1 : i])
	return h[:j], pid, err == nil && pid > 0
}

// holderDead reports whether lease owner h is a process of this host
// that no longer exists, which voids its lease at once (a process killed
// with SIGKILL). A holder of another host, or one whose liveness cannot be
// told, is taken as alive: its lease expires in LeaseDuration.
func holderDead(h string) bool {
	host, pid, ok := parseHolder(h)
	if !ok || pid == os.Getpid() {
		return false
	}
	me, err := os.Hostname()
	if err != nil || me != host {
		return false
	}
	return !processAlive(pid)
}
