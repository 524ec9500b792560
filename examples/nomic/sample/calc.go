// Package calc is the sample repository of the nomic loop's offline demo
// (docs/nomic.md#offline-demo): copy it somewhere, make it a git
// repository and let the loop improve it.
package calc

// Add returns a plus b.
func Add(a, b int) int { return a + b }

// Mul returns a times b.
func Mul(a, b int) int { return a * b }

// TODO: a Div that reports division by zero.
