package auth_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/internal/enum/enumtest"
)

func TestNames(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, auth.PrincipalTypes, auth.ParsePrincipalType, "robot")
	enumtest.Check(t, auth.Roles, auth.ParseRole, "superuser")
	_, err := auth.ParseRole("public")
	assert.ErrorIs(t, err, auth.ErrInvalidInput)
	assert.ErrorContains(t, err, "want owner, admin, member or viewer")
}
