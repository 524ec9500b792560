package nomic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Design is the design phase's plan: the files to touch and the approach.
type Design struct {
	Files    []string `json:"files"`
	Approach string   `json:"approach"`
}

// Outcome is the record of one finished cycle (the outcomes row, the
// store's outcome document and the nomic.cycle_finished data).
type Outcome struct {
	CycleID     string    `json:"cycle_id"`
	Number      int       `json:"number"`
	Outcome     string    `json:"outcome"` // success, failure, aborted
	Committed   bool      `json:"committed"`
	Reason      string    `json:"reason"`
	ErrorType   string    `json:"error_type,omitempty"`
	Improvement string    `json:"improvement,omitempty"`
	ReceiptID   string    `json:"receipt_id,omitempty"`
	DebateID    string    `json:"debate_id,omitempty"`
	Files       []string  `json:"files,omitempty"`
	Branch      string    `json:"branch,omitempty"`
	Commit      string    `json:"commit,omitempty"`
	Backup      string    `json:"backup,omitempty"`
	Patch       string    `json:"patch,omitempty"`
	Verify      *Report   `json:"verify,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
}

// OutcomeRecorder keeps outcomes outside the store (the SQLite file
// .nomic/outcomes.db, table outcomes).
type OutcomeRecorder interface {
	RecordOutcome(ctx context.Context, o Outcome) error
}

// OutcomesDBPath is the outcomes database inside a target repository.
const OutcomesDBPath = ".nomic/outcomes.db"

// Backups.

// BackupsDir is the backups directory inside a target repository.
const BackupsDir = ".nomic/backups"

// BackupManifest describes one backup (manifest.json in its directory).
type BackupManifest struct {
	CycleID   string       `json:"cycle_id"`
	Number    int          `json:"number"`
	CreatedAt time.Time    `json:"created_at"`
	Files     []BackupFile `json:"files"`
}

// BackupFile is one backed-up path; Existed false means the change
// created it, so a rollback deletes it.
type BackupFile struct {
	Path    string `json:"path"`
	Existed bool   `json:"existed"`
}

// BackupInfo describes a backup directory for list-backups.
type BackupInfo struct {
	Dir      string
	Cycle    int
	Date     string
	Files    int
	Manifest BackupManifest
}

const manifestName = "manifest.json"

// WriteBackup copies the files of paths (relative to root) into a new
// backup directory .nomic/backups/cycle_<n>_<YYYYMMDD>/ and returns it.
func WriteBackup(root, cycleID string, n int, paths []string, now time.Time) (string, error) {
	base := filepath.Join(root, BackupsDir, fmt.Sprintf("cycle_%d_%s", n, now.UTC().Format("20060102")))
	dir := base
	for i := 2; ; i++ {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		dir = fmt.Sprintf("%s.%d", base, i)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	m := BackupManifest{CycleID: cycleID, Number: n, CreatedAt: now.UTC()}
	for _, p := range paths {
		if err := CheckPath(p); err != nil {
			return "", err
		}
		src := filepath.Join(root, filepath.FromSlash(p))
		b, err := os.ReadFile(src)
		if errors.Is(err, os.ErrNotExist) {
			m.Files = append(m.Files, BackupFile{Path: p})
			continue
		}
		if err != nil {
			return "", err
		}
		dst := filepath.Join(dir, "files", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", err
		}
		m.Files = append(m.Files, BackupFile{Path: p, Existed: true})
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, manifestName), append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

var backupNameRE = regexp.MustCompile(`^cycle_(\d+)_(\d{8})(\.\d+)?$`)

// ListBackups lists the backups of the repository at root, oldest first.
func ListBackups(root string) ([]BackupInfo, error) {
	ents, err := os.ReadDir(filepath.Join(root, BackupsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []BackupInfo
	for _, e := range ents {
		m := backupNameRE.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		bi := BackupInfo{Dir: filepath.Join(root, BackupsDir, e.Name()), Cycle: n, Date: m[2]}
		if b, err := os.ReadFile(filepath.Join(bi.Dir, manifestName)); err == nil && json.Unmarshal(b, &bi.Manifest) == nil {
			bi.Files = len(bi.Manifest.Files)
		}
		out = append(out, bi)
	}
	slices.SortFunc(out, func(a, b BackupInfo) int {
		if c := a.Manifest.CreatedAt.Compare(b.Manifest.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Dir, b.Dir)
	})
	return out, nil
}

// ResolveBackup turns the argument of rollback into a backup directory: a
// backup directory itself, or a cycle prefix (.nomic/backups/cycle_5/)
// naming the newest backup of that cycle. root is the repository.
func ResolveBackup(root, arg string) (string, error) {
	clean := filepath.Clean(arg)
	if !filepath.IsAbs(clean) {
		clean = filepath.Join(root, clean)
	}
	if _, err := os.Stat(filepath.Join(clean, manifestName)); err == nil {
		return clean, nil
	}
	name := filepath.Base(clean)
	m := regexp.MustCompile(`^cycle_(\d+)$`).FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("nomic: %s is neither a backup (no %s) nor a cycle prefix like .nomic/backups/cycle_5/", arg, manifestName)
	}
	n, _ := strconv.Atoi(m[1])
	all, err := ListBackups(root)
	if err != nil {
		return "", err
	}
	best := ""
	for _, b := range all {
		if b.Cycle == n {
			best = b.Dir // sorted oldest first: the last one wins
		}
	}
	if best == "" {
		return "", fmt.Errorf("nomic: no backup of cycle %d in %s", n, filepath.Join(root, BackupsDir))
	}
	return best, nil
}

// Rollback restores the files of the backup dir into root: files that
// existed are written back, files the change created are removed. It
// refuses while a live loop holds the repository's lock. It returns the
// restored paths.
func Rollback(root, dir string) ([]string, error) {
	if held, info, _, err := LockStatus(root); err != nil {
		return nil, err
	} else if held {
		return nil, fmt.Errorf("%w: %s; stop it before rolling back", ErrLocked, describeLock(info))
	}
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("nomic: read backup manifest: %w", err)
	}
	var m BackupManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("nomic: parse backup manifest: %w", err)
	}
	var done []string
	for _, f := range m.Files {
		if err := CheckPath(f.Path); err != nil {
			return done, err
		}
		if err := checkNoSymlink(root, f.Path); err != nil {
			return done, err
		}
		dst := filepath.Join(root, filepath.FromSlash(f.Path))
		if !f.Existed {
			if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
				return done, err
			}
			done = append(done, f.Path)
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "files", filepath.FromSlash(f.Path)))
		if err != nil {
			return done, err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return done, err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return done, err
		}
		done = append(done, f.Path)
	}
	return done, nil
}
