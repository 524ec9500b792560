package sqlmigrate_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/aragora/aragora/store/internal/sqlmigrate"
)

func ExampleUp() {
	dir, err := os.MkdirTemp("", "sqlmigrate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "example.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	migrations := fstest.MapFS{
		"0001_init.sql": {Data: []byte("-- additive: true\n-- min_binary: 0.8.0\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n")},
	}
	applied, err := sqlmigrate.Up(context.Background(), db, sqlmigrate.SQLite, migrations, "0.8.0")
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range applied {
		fmt.Printf("%04d_%s additive=%v min_binary=%s\n", m.Version, m.Name, m.Additive, m.MinBinary)
	}
	// Output: 0001_init additive=true min_binary=0.8.0
}
