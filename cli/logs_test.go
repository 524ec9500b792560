package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	res := runCLI(t, context.Background(), nil, "version")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Regexp(t, `^aragora `+regexp.QuoteMeta(Version)+` \(commit ([0-9a-f]{7}|unknown), `+regexp.QuoteMeta(runtime.Version())+`, `, res.stdout)
	assert.True(t, strings.HasSuffix(res.stdout, runtime.GOOS+"/"+runtime.GOARCH+")\n"))
	js := runCLI(t, context.Background(), nil, "version", "--json")
	require.Equal(t, exitOK, js.code)
	var v map[string]string
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &v))
	assert.Equal(t, Version, v["version"])
	assert.Equal(t, runtime.Version(), v["go_version"])
}
