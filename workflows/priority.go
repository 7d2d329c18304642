package workflows

import "go.temporal.io/sdk/temporal"

// OwnerWaiting is the task priority of the work a salon owner waits for on a page: the
// installation workflow (the register page, the connect page's pairing codes, the activation)
// and the cabinet's sample message. Set when such a workflow starts, it is inherited by the
// workflow's tasks, its activities (the pairing attempt on the salon's WhatsApp shard queue
// among them) and its continue-as-new runs. Everything else (the clients' messages) keeps
// Temporal's default, 3 of 1..5: when a burst of bookings or a reminder wave backs a task
// queue up, the server hands the owner's tasks out first instead of after the backlog
// (TestOwnerWaitingGoesAheadOfABacklog). Ordering only: a backlog of owners' tasks alone (a
// wave of installs) is served as before.
var OwnerWaiting = temporal.Priority{PriorityKey: 1}
