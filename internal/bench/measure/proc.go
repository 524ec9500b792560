package measure

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReadStatusKB returns a "kB" field of /proc/self/status (VmRSS, VmHWM), or
// 0 where /proc is unavailable.
func ReadStatusKB(field string) int64 { return ProcStatusKB("self", field) }

// ProcStatusKB is ReadStatusKB for the process pid ("self" or a number).
func ProcStatusKB(pid, field string) int64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return v
	}
	return 0
}

// ResetPeakRSS resets VmHWM to the current RSS (Linux clear_refs 5); it is
// a no-op where that is not allowed.
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// CPUTime returns the user plus system CPU time of this process so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MemStats returns the runtime's memory statistics now.
func MemStats() runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
