package yclients

import "github.com/aiadmin/aiadmin/db"

// BackgroundTerms are the terms a background request books its slot on (Budget.Wait without
// Urgent, Queued or Prompt), for the tests outside the package.
func BackgroundTerms() db.SlotTerms {
	t := slotBackground
	t.Spacing, t.Horizon = BudgetSpacing, backgroundHorizon
	return t
}
