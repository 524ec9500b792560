package auth_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/store/memstore"
)

func Example() {
	ctx := context.Background()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	svc, err := auth.New(ctx, memstore.NewAuth(), []byte("0123456789abcdef0123456789abcdef"), auth.Config{
		Now:      func() time.Time { return now },
		Password: auth.PasswordConfig{Memory: 64, Time: 1, Threads: 1}, // tiny, for the example only
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "ada@example.com", Password: "correct horse battery", Role: auth.RoleAdmin}); err != nil {
		log.Fatal(err)
	}
	pair, _, err := svc.Login(ctx, "ada@example.com", "correct horse battery", "10.0.0.7")
	if err != nil {
		log.Fatal(err)
	}

	a := &auth.Authenticator{Service: svc}
	r := httptest.NewRequest("GET", "/api/admin/audit-log", nil)
	r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	p, err := a.Authenticate(r)
	if err != nil {
		log.Fatal(err)
	}
	routes := auth.RouteTable{"GET /api/admin/audit-log": auth.RoleAdmin}
	fmt.Println(p.Method(), p.Role, routes.Authorize(p, "GET /api/admin/audit-log") == nil)

	if _, err := svc.RotateKeys(ctx, false, true); err != nil { // compromise response
		log.Fatal(err)
	}
	_, err = a.Authenticate(r)
	fmt.Println(auth.CodeOf(err))
	// Output:
	// jwt admin true
	// token_revoked
}
