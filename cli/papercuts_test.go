package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestReceiptOutCheckLeavesNoFile: the check of a writable --receipt-out
// that did not exist leaves no file behind.
func TestReceiptOutCheckLeavesNoFile(t *testing.T) {
	t.Parallel()
	good := filepath.Join(t.TempDir(), "receipt.md")
	assert.NoError(t, checkReceiptOut(good))
	_, err := os.Stat(good)
	assert.True(t, os.IsNotExist(err), "the check leaves no file behind")
}

func TestErrorsArePrefixedOnce(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printErr(&b, errors.New("aragora: store unreachable"))
	printErr(&b, errors.New("debate: --rounds 0: want 1 to 20"))
	assert.Equal(t, "aragora: store unreachable\naragora: debate: --rounds 0: want 1 to 20\n", b.String())
}

func TestPluralRounds(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "1 round", pluralize(1, "round"))
	assert.Equal(t, "3 rounds", pluralize(3, "round"))
}
