package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/store"
)

// newRatingsCmd is `aragora ratings`: the ELO leaderboard (docs/debate.md#elo-ratings),
// overall or for one domain, read straight from the store.
func newRatingsCmd(getenv env) *cobra.Command {
	var domain string
	var asJSON bool
	cmd := noArgsCmd("ratings [--domain D] [--json]", "Print the agents' ELO leaderboard", func(cmd *cobra.Command) error {
		_, b, err := openBackends(cmd.Context(), getenv)
		if err != nil {
			return err
		}
		defer b.Close()
		rs, ok := b.Store.(store.RatingStore)
		if !ok {
			return &exitError{code: exitFailure, err: fmt.Errorf("ratings: the %s store keeps no ratings", b.Kind)}
		}
		board, err := rs.Ratings(cmd.Context(), domain)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		out := cmd.OutOrStdout()
		if asJSON {
			type row struct {
				Agent   string  `json:"agent"`
				Elo     float64 `json:"elo"`
				Wins    int     `json:"wins"`
				Losses  int     `json:"losses"`
				Draws   int     `json:"draws"`
				Debates int     `json:"debates"`
			}
			rows := make([]row, 0, len(board))
			for _, r := range board {
				rows = append(rows, row{r.Agent, r.Elo, r.Wins, r.Losses, r.Draws, r.Debates})
			}
			return json.NewEncoder(out).Encode(rows)
		}
		if len(board) == 0 {
			fmt.Fprintln(out, "no rated debates yet")
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tAGENT\tELO\tW\tL\tD\tDEBATES")
		for i, r := range board {
			fmt.Fprintf(tw, "%d\t%s\t%.1f\t%d\t%d\t%d\t%d\n", i+1, r.Agent, r.Elo, r.Wins, r.Losses, r.Draws, r.Debates)
		}
		return tw.Flush()
	})
	cmd.Flags().StringVar(&domain, "domain", "", "a domain's ratings instead of the overall ones")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
