package sqlrec

import "github.com/aragora/aragora/store"

// DebateColumns are the columns of debates, in the order [ScanDebate] reads them.
const DebateColumns = `id, topic, status, owner, correlation_id, config, result, last_seq, created_at, updated_at, started_at, finished_at,
	lease_owner, lease_expires_at, lease_generation`

// ScanDebate reads DebateColumns.
func ScanDebate(row Row) (*store.Debate, error) {
	var (
		d              store.Debate
		config, result []byte
	)
	if err := row.Scan(&d.ID, &d.Topic, &d.Status, &d.Owner, &d.CorrelationID, &config, &result, &d.LastSeq,
		Time(&d.CreatedAt), Time(&d.UpdatedAt), Time(&d.StartedAt), Time(&d.FinishedAt),
		String(&d.LeaseOwner), Time(&d.LeaseExpiresAt), &d.LeaseGeneration); err != nil {
		return nil, err
	}
	d.Config, d.Result = config, result
	return &d, nil
}
