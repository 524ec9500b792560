package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplitAgentSpecs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", "b:c"}, splitAgentSpecs(" a ,, b:c ,"))
	assert.Nil(t, splitAgentSpecs(" , "))
}
