package testenv

import (
	"os"
	"testing"
)

// FillDisk creates the file path and writes it until its file system is
// full (the first write that fails), so that the next write there fails
// too; removing path frees the space again.
func FillDisk(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("testenv: fill disk: %v", err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("testenv: fill disk: %v", err)
	}
}
