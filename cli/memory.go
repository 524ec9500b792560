package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/service"
)

// newMemoryCmd is `aragora memory list|search|stats|cleanup`: the
// continuum memory (docs/memory.md), read and cleaned up straight in the
// store.
func newMemoryCmd(getenv env) *cobra.Command {
	var tier string
	var limit int
	var asJSON bool
	root := &cobra.Command{
		Use:   "memory",
		Short: "Inspect and clean up the continuum memory",
		Long: `The continuum memory keeps what earlier debates taught (their outcomes and
the critique patterns that changed minds) in four tiers, and recalls it into
later debates (docs/memory.md). These commands work on the configured store
(continuum.db beside aragora.db with SQLite), also while aragora serve runs.`,
	}
	// open runs fn with the continuum over the configured store.
	open := func(cmd *cobra.Command, fn func(c *memory.Continuum, out io.Writer) error) error {
		c, err := serviceConfig(cmd.Context(), getenv)
		if err != nil {
			return usageErr(err)
		}
		if tier != "" {
			if _, err := memory.ParseTier(tier); err != nil {
				return usageErr(err)
			}
		}
		b, err := service.OpenBackends(cmd.Context(), c)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		defer b.Close()
		st, ok := b.Store.(memory.Store)
		if !ok {
			return &exitError{code: exitFailure, err: fmt.Errorf("memory: the %s store keeps no memory", b.Kind)}
		}
		mem, err := memory.New(memory.Config{Store: st})
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if err := fn(mem, cmd.OutOrStdout()); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		return nil
	}
	list := noArgsCmd("list [--tier T] [--limit N] [--json]", "List entries, most recently updated first", func(cmd *cobra.Command) error {
		return open(cmd, func(c *memory.Continuum, out io.Writer) error {
			es, err := c.List(cmd.Context(), memory.Filter{Tier: memory.Tier(tier), Limit: limit})
			if err != nil {
				return err
			}
			return printEntries(out, es, nil, asJSON)
		})
	})
	search := &cobra.Command{
		Use:   `search "QUERY" [--tier T] [--limit N] [--json]`,
		Short: "The entries most relevant to a question, best first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return open(cmd, func(c *memory.Continuum, out io.Writer) error {
				rs, err := c.Retrieve(cmd.Context(), memory.Query{Text: args[0], Tier: memory.Tier(tier), Limit: limit, TokenBudget: -1})
				if err != nil {
					return err
				}
				es := make([]*memory.Entry, 0, len(rs))
				scores := make([]float64, 0, len(rs))
				for _, r := range rs {
					es, scores = append(es, r.Entry), append(scores, r.Score)
				}
				return printEntries(out, es, scores, asJSON)
			})
		},
	}
	stats := noArgsCmd("stats [--json]", "Entries and bytes per tier, and the recorded tier transitions", func(cmd *cobra.Command) error {
		return open(cmd, func(c *memory.Continuum, out io.Writer) error {
			st, err := c.Stats(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]any{"tiers": st.Tiers, "transitions": nonNilSlice(st.Transitions)})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIER\tENTRIES\tBYTES\tHALF-LIFE\tMAX")
			for _, t := range st.Tiers {
				spec := c.Spec(t.Tier)
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\n", t.Tier, t.Count, t.Bytes, spec.HalfLife, spec.MaxItems)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, tc := range st.Transitions {
				fmt.Fprintf(out, "%s -> %s: %d\n", tc.From, tc.To, tc.Count)
			}
			return nil
		})
	})
	cleanup := noArgsCmd("cleanup [--json]", "Forget stale, expired and over-capacity entries now (red-line entries stay)", func(cmd *cobra.Command) error {
		return open(cmd, func(c *memory.Continuum, out io.Writer) error {
			rep, err := c.Cleanup(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(out).Encode(rep)
			}
			fmt.Fprintf(out, "forgot %d entries (stale %d, expired %d, over capacity %d)\n", rep.Deleted,
				rep.Reasons["stale"], rep.Reasons["expired"], rep.Reasons["capacity"])
			return nil
		})
	})
	for _, c := range []*cobra.Command{list, search} {
		c.Flags().StringVar(&tier, "tier", "", "only this tier: fast, medium, slow or glacial")
		c.Flags().IntVar(&limit, "limit", 20, "entries at most")
	}
	for _, c := range []*cobra.Command{list, search, stats, cleanup} {
		c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		root.AddCommand(c)
	}
	return root
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// printEntries prints entries as a table or JSON, with their scores when
// scores is not nil.
func printEntries(out io.Writer, es []*memory.Entry, scores []float64, asJSON bool) error {
	if asJSON {
		type row struct {
			*memory.Entry
			Score *float64 `json:"score,omitempty"`
		}
		rows := make([]row, 0, len(es))
		for i, e := range es {
			r := row{Entry: e}
			if scores != nil {
				r.Score = &scores[i]
			}
			rows = append(rows, r)
		}
		return json.NewEncoder(out).Encode(rows)
	}
	if len(es) == 0 {
		fmt.Fprintln(out, "no memory entries")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	head := "ID\tTIER\tKIND\tIMPORTANCE\tSURPRISE\tUPDATED\tCONTENT"
	if scores != nil {
		head = "SCORE\t" + head
	}
	fmt.Fprintln(tw, head)
	for i, e := range es {
		if scores != nil {
			fmt.Fprintf(tw, "%.3f\t", scores[i])
		}
		content := strings.Join(strings.Fields(e.Content), " ")
		if utf8.RuneCountInString(content) > 70 {
			content = string([]rune(content)[:69]) + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.3f\t%s\t%s\n", e.ID, e.Tier, e.Kind, e.Importance, e.Surprise,
			e.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), content)
	}
	return tw.Flush()
}
