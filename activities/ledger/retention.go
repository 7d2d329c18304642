package ledger

import "time"

// How long the ledger keeps what it holds of a client (MESSAGE_RETENTION and
// MESSAGE_ROW_RETENTION). A message's number and text are kept for Retention after it was
// written, after it ended and after its visit; a message of a visit is deleted RowRetention
// after it was written and after its visit. A message about no visit (Epoch: a client's
// welcome) keeps its row, emptied, so that it stays once only for good; a queued one keeps
// everything, as it may still be sent.
const (
	DefaultRetention    = 90 * 24 * time.Hour
	DefaultRowRetention = 365 * 24 * time.Hour
)
