package sqlrec

import "github.com/aragora/aragora/store"

// NomicCommandColumns are the columns of nomic_commands, in the order
// [ScanNomicCommand] reads them.
const NomicCommandColumns = `id, kind, args, status, result, created_at, acked_at`

// ScanNomicCommand reads NomicCommandColumns; empty args and result are nil.
func ScanNomicCommand(row Row) (store.NomicCommand, error) {
	var (
		c            store.NomicCommand
		args, result []byte
	)
	if err := row.Scan(&c.ID, &c.Kind, &args, &c.Status, &result, Time(&c.CreatedAt), Time(&c.AckedAt)); err != nil {
		return c, err
	}
	if len(args) > 0 {
		c.Args = args
	}
	if len(result) > 0 {
		c.Result = result
	}
	return c, nil
}

// NomicOutcomeColumns are the columns of nomic_outcomes (and of the nomic
// loop's own outcomes table), in the order [ScanNomicOutcome] reads them.
const NomicOutcomeColumns = `cycle_id, number, outcome, committed, reason, started_at, finished_at, doc`

// ScanNomicOutcome reads NomicOutcomeColumns.
func ScanNomicOutcome(row Row) (store.NomicOutcome, error) {
	var (
		o   store.NomicOutcome
		doc []byte
	)
	err := row.Scan(&o.CycleID, &o.Number, &o.Outcome, &o.Committed, &o.Reason, Time(&o.StartedAt), Time(&o.FinishedAt), &doc)
	o.Doc = doc
	return o, err
}
