// Package doccheck holds the tests that keep the repository's documentation
// true: docs/configuration.md lists exactly the environment variables the
// aragora binary reads, and no code comment, help text or document cites a
// specification that does not ship with the repository. It has no API.
package doccheck
